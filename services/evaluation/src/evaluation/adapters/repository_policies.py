"""Policy versions and closed rounds in and out of the database."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from sqlalchemy import BindParameter, ColumnElement, Text, bindparam, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from evaluation.adapters.orm import call_round, evaluation, policy_version
from evaluation.domain.model import Round
from evaluation.domain.policy import Change, Policy, PolicyVersion, in_force


def _policy(row: Any) -> Policy:
    return Policy.from_rules(row.version, row.effective_at, row.rules)


def _version(row: Any) -> PolicyVersion:
    cancelled = (Change(row.cancelled_at, row.cancelled_by, row.cancelled_by_role)
                 if row.cancelled_at is not None else None)
    return PolicyVersion(_policy(row), Change(row.created_at, row.created_by, row.created_by_role), cancelled)


LIVE = policy_version.c.cancelled_at.is_(None)


def in_force_version(at: BindParameter[datetime]) -> ColumnElement[str]:
    """The name of the version in force at `at` (`domain.policy.in_force`): the live one with the latest start at or
    before it, else the first live one; NULL when no version is live."""
    return func.coalesce(
        select(policy_version.c.version).where(LIVE, policy_version.c.effective_at <= at)
        .order_by(policy_version.c.effective_at.desc()).limit(1).scalar_subquery(),
        select(policy_version.c.version).where(LIVE).order_by(policy_version.c.effective_at).limit(1)
        .scalar_subquery())


_IN_FORCE = select(in_force_version(bindparam("at", type_=policy_version.c.effective_at.type)))
_RECORD = select(policy_version).where(policy_version.c.version == bindparam("version", type_=Text))
# Each version as read, per database (its engine): its name, start and rules never change once stored (a change is a
# new version, a cancel only stops it governing), so each is read and parsed once per process.
_VERSIONS: WeakKeyDictionary[object, dict[str, Policy]] = WeakKeyDictionary()


def _versions(session: AsyncConnection) -> dict[str, Policy]:
    return _VERSIONS.setdefault(session.engine, {})


class PolicyRepository:
    """Versions are only added, or cancelled before their time: rules are never updated, by design."""

    def __init__(self, session: AsyncConnection) -> None:
        self._session = session
        self._known = _versions(session)

    async def add(self, policy: Policy, created: Change) -> bool:
        """False when the version name is taken, even by a cancelled version (nothing changes)."""
        stmt = (insert(policy_version)
                .values(version=policy.version, effective_at=policy.effective_at, rules=policy.rules(),
                        created_at=created.at, created_by=created.by, created_by_role=created.role)
                .on_conflict_do_nothing(index_elements=[policy_version.c.version])
                .returning(policy_version.c.version))
        return (await self._session.execute(stmt)).first() is not None

    async def cancel(self, version: str, cancelled: Change) -> None:
        await self._session.execute(update(policy_version).where(policy_version.c.version == version, LIVE)
                                    .values(cancelled_at=cancelled.at, cancelled_by=cancelled.by,
                                            cancelled_by_role=cancelled.role))

    async def get(self, version: str) -> Policy | None:
        if (known := self._known.get(version)) is not None:
            return known
        found = await self.record(version)
        return found.policy if found else None

    async def record(self, version: str) -> PolicyVersion | None:
        """One version with its audit, cancelled or not."""
        row = (await self._session.execute(_RECORD, {"version": version})).first()
        if row is None:
            return None
        found = _version(row)
        self._known[version] = found.policy
        return found

    async def records(self) -> list[PolicyVersion]:
        """Every version with its audit, cancelled ones included, the latest start first."""
        stmt = select(policy_version).order_by(policy_version.c.effective_at.desc(),
                                               policy_version.c.created_at.desc())
        return [_version(r) for r in (await self._session.execute(stmt)).all()]

    async def live(self) -> list[Policy]:
        """Every version not cancelled, the latest start first."""
        stmt = select(policy_version).where(LIVE).order_by(policy_version.c.effective_at.desc())
        return [_policy(r) for r in (await self._session.execute(stmt)).all()]

    async def in_force(self, at: datetime) -> Policy:
        """The version in force at `at`: which one, read each time (a version may have been published or cancelled
        since); its rules, once per process."""
        version = (await self._session.execute(_IN_FORCE, {"at": at})).scalar()
        found = await self.get(version) if version is not None else None
        return found if found is not None else in_force(await self.live(), at)

    async def named_by_a_decision(self, version: str) -> bool:
        """True when an evaluation, a re-check or a round names the version (a re-check may be dated ahead)."""
        x = evaluation.c.explanation
        named = or_(evaluation.c.policy_version == version, x["eligibility_policy_version"].astext == version,
                    x["rechecks"].contains([{"policy_version": version}]))
        stmt = select(or_(exists().where(named), exists().where(call_round.c.policy_version == version)))
        return bool((await self._session.execute(stmt)).scalar())

    async def lock(self) -> None:
        """Serialise changes, so two at once cannot both pass the 'after the latest' check, nor a cancel slip
        between a publish's check and its insert."""
        await self._session.execute(select(policy_version.c.version).with_for_update())


def _round(row: Any) -> Round:
    data = dict(row._mapping)
    return Round(**{**data, "application_ids": tuple(UUID(a) for a in data["application_ids"])})


_LOCK_CALL = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("key", type_=Text), 0)))
_ROUND = select(call_round).where(call_round.c.call_id == bindparam("call_id", type_=call_round.c.call_id.type))
_ROUND_FOR_UPDATE = _ROUND.with_for_update()


class RoundRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def lock_call(self, call_id: UUID) -> None:
        """Serialise a call's close with the arrival of its applications, so neither misses the other."""
        await self._session.execute(_LOCK_CALL, {"key": str(call_id)})

    async def add(self, item: Round) -> bool:
        """False when the call's round was closed already (a repeated close changes nothing)."""
        stmt = (insert(call_round)
                .values(call_id=item.call_id, program=item.program, opens_at=item.opens_at,
                        closes_at=item.closes_at, application_ids=[str(a) for a in item.application_ids],
                        policy_version=item.policy_version, closed_at=item.closed_at)
                .on_conflict_do_nothing(index_elements=[call_round.c.call_id]).returning(call_round.c.call_id))
        return (await self._session.execute(stmt)).first() is not None

    async def get(self, call_id: UUID, *, for_update: bool = False) -> Round | None:
        stmt = _ROUND_FOR_UPDATE if for_update else _ROUND
        row = (await self._session.execute(stmt, {"call_id": call_id})).first()
        return _round(row) if row else None

    async def mark_scored(self, call_id: UUID, at: datetime) -> None:
        await self._session.execute(update(call_round).where(call_round.c.call_id == call_id).values(scored_at=at))

    async def waiting_for(self, application_id: UUID) -> Round | None:
        """The closed round, not reported yet, that lists the application, if any."""
        stmt = (select(call_round).where(call_round.c.scored_at.is_(None),
                                         call_round.c.application_ids.contains([str(application_id)]))
                .order_by(call_round.c.closed_at).limit(1))
        row = (await self._session.execute(stmt)).first()
        return _round(row) if row else None
