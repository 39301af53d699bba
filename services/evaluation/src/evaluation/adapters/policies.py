"""Policy versions and closed rounds in and out of the database."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from evaluation.adapters.orm import call_round, policy_version
from evaluation.domain.model import Round
from evaluation.domain.policy import Policy, in_force


def _policy(row: Any) -> Policy:
    return Policy.from_rules(row.version, row.effective_from, row.rules)


class PolicyRepository:
    """Versions are only added: there is no update here, by design."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, policy: Policy) -> bool:
        """False when the version name is taken (nothing changes)."""
        stmt = (insert(policy_version)
                .values(version=policy.version, effective_from=policy.effective_from, rules=policy.rules())
                .on_conflict_do_nothing(index_elements=[policy_version.c.version])
                .returning(policy_version.c.version))
        return (await self._session.execute(stmt)).first() is not None

    async def get(self, version: str) -> Policy | None:
        row = (await self._session.execute(select(policy_version)
                                           .where(policy_version.c.version == version))).first()
        return _policy(row) if row else None

    async def list(self) -> list[Policy]:
        """Every version, the latest start first."""
        stmt = select(policy_version).order_by(policy_version.c.effective_from.desc())
        return [_policy(r) for r in (await self._session.execute(stmt)).all()]

    async def in_force(self, at: datetime) -> Policy:
        return in_force(await self.list(), at)

    async def lock(self) -> None:
        """Serialise new versions, so two at once cannot both pass the 'after the latest' check."""
        await self._session.execute(select(policy_version.c.version).with_for_update())


def _round(row: Any) -> Round:
    data = dict(row._mapping)
    return Round(**{**data, "application_ids": tuple(UUID(a) for a in data["application_ids"])})


class RoundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock_call(self, call_id: UUID) -> None:
        """Serialise a call's close with the arrival of its applications, so neither misses the other."""
        await self._session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(str(call_id), 0))))

    async def add(self, item: Round) -> bool:
        """False when the call's round was closed already (a repeated close changes nothing)."""
        stmt = (insert(call_round)
                .values(call_id=item.call_id, program=item.program, opens_at=item.opens_at,
                        closes_at=item.closes_at, application_ids=[str(a) for a in item.application_ids],
                        policy_version=item.policy_version, closed_at=item.closed_at)
                .on_conflict_do_nothing(index_elements=[call_round.c.call_id]).returning(call_round.c.call_id))
        return (await self._session.execute(stmt)).first() is not None

    async def get(self, call_id: UUID, *, for_update: bool = False) -> Round | None:
        stmt = select(call_round).where(call_round.c.call_id == call_id)
        row = (await self._session.execute(stmt.with_for_update() if for_update else stmt)).first()
        return _round(row) if row else None

    async def mark_scored(self, call_id: UUID, at: datetime) -> None:
        await self._session.execute(update(call_round).where(call_round.c.call_id == call_id).values(scored_at=at))
