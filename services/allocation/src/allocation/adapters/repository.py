"""Allocations and the waiting lines (waitlist, round candidates, excluded applications) in and out of the database."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, delete, func, select, text, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from allocation.adapters.orm import (
    allocation,
    allocation_gpu,
    csp,
    excluded_application,
    round_,
    round_candidate,
    server,
    server_gpu,
    waitlist,
)
from allocation.adapters.repository_inventory import as_range as _range
from allocation.domain.model import Allocation, ProgramCode, RoundCandidate, Slot, Status, WaitlistEntry

INSERT_ALLOCATION, INSERT_ALLOCATION_GPU = allocation.insert(), allocation_gpu.insert()  # built once


def _allocation_row(item: Allocation) -> dict[str, Any]:
    return {k: v for k, v in vars(item).items() if k != "slots"} | {"status": item.status.value}


class AllocationRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add(self, *items: Allocation) -> None:
        """Insert the allocations and their GPUs: the exclusion constraint refuses any GPU taken for an overlapping
        time, under any concurrency."""
        if not items:
            return
        await self._session.execute(INSERT_ALLOCATION, [_allocation_row(item) for item in items])
        await self._session.execute(INSERT_ALLOCATION_GPU, [
            {"allocation_id": item.id, "server_id": s.server_id, "gpu_index": s.gpu_index,
             "during": _range((item.starts_at, item.ends_at))}
            for item in items for s in item.slots])

    async def get(self, allocation_id: UUID, *, for_update: bool = False) -> Allocation | None:
        found = await self._load(allocation.c.id == allocation_id, for_update=for_update)
        return found[0] if found else None

    async def for_application(self, application_id: UUID, *, for_update: bool = False) -> Allocation | None:
        """The application's allocation or hold; lapsed holds (offers not taken up) are history, not returned."""
        found = await self._load(allocation.c.application_id == application_id, allocation.c.status != "lapsed",
                                 for_update=for_update)
        return found[0] if found else None

    async def find(self, *, application_id: UUID | None = None, status: Status | None = None,
                   limit: int = 50) -> list[Allocation]:
        """The latest period first."""
        conditions = [*([allocation.c.application_id == application_id] if application_id else []),
                      *([allocation.c.status == status.value] if status else [])]
        return await self._load(*conditions, limit=limit)

    async def save(self, item: Allocation) -> None:
        """Write the status; an ended allocation's GPUs are held only until it ended."""
        row = _allocation_row(item)
        await self._session.execute(allocation.update().where(allocation.c.id == item.id).values(
            {k: row[k] for k in ("status", "ended_at", "end_reason", "warned_at", "waived_at")}))
        if item.ended_at is not None:
            await self._session.execute(allocation_gpu.update()
                                        .where(allocation_gpu.c.allocation_id == item.id)
                                        .values(during=_range((item.starts_at, item.ended_at))))

    async def _load(self, *conditions: Any, for_update: bool = False, limit: int = 50) -> list[Allocation]:
        stmt = select(allocation).where(*conditions).order_by(allocation.c.starts_at.desc()).limit(limit)
        rows = (await self._session.execute(stmt.with_for_update() if for_update else stmt)).all()
        slots = await self._slots(r.id for r in rows)
        return [Allocation(**{**r._mapping, "status": Status(r.status), "slots": slots[r.id]}) for r in rows]

    async def _slots(self, allocation_ids: Iterable[UUID]) -> dict[UUID, list[Slot]]:
        """Each GPU with its UUID as the inventory has it now."""
        stmt = (select(allocation_gpu.c.allocation_id, allocation_gpu.c.gpu_index, server.c.id.label("server_id"),
                       server.c.name.label("server_name"), csp.c.name.label("csp"), server.c.csp_id,
                       server_gpu.c.gpu_uuid)
                .join(server, server.c.id == allocation_gpu.c.server_id).join(csp, csp.c.id == server.c.csp_id)
                .outerjoin(server_gpu, (server_gpu.c.server_id == allocation_gpu.c.server_id)
                           & (server_gpu.c.gpu_index == allocation_gpu.c.gpu_index))
                .where(allocation_gpu.c.allocation_id.in_(list(allocation_ids)))
                .order_by(server.c.name, allocation_gpu.c.gpu_index))
        found: dict[UUID, list[Slot]] = defaultdict(list)
        for row in (await self._session.execute(stmt)).all():
            data = dict(row._mapping)
            found[data.pop("allocation_id")].append(Slot(**data))
        return found


FIRST_MISSING = text("""
SELECT e.id FROM allocation.round r, unnest(r.expected) AS e(id)
WHERE r.call_id = :call_id
  AND NOT EXISTS (SELECT 1 FROM allocation.round_candidate c WHERE c.application_id = e.id)
  AND NOT EXISTS (SELECT 1 FROM allocation.excluded_application x WHERE x.application_id = e.id)
LIMIT 1
""")


SETTLED = text("""
SELECT EXISTS (SELECT 1 FROM allocation.allocation a WHERE a.application_id = :application_id AND a.status <> 'lapsed')
    OR EXISTS (SELECT 1 FROM allocation.excluded_application x WHERE x.application_id = :application_id)
""").bindparams(bindparam("application_id", type_=allocation.c.application_id.type))


def _upsert_waitlisted() -> Any:
    """Insert, or refresh every column of an entry but its application, its first arrival and its offer."""
    stmt = insert(waitlist)
    columns = [f.name for f in fields(WaitlistEntry) if f.name not in {"starts_at", "ends_at"}] + ["period"]
    return stmt.on_conflict_do_update(
        index_elements=[waitlist.c.application_id],
        set_={k: stmt.excluded[k] for k in columns if k not in {"application_id", "created_at", "offer_id"}})


def _remove() -> Any:
    """Both deletes run, as CTEs of one statement; it counts the rows they removed."""
    gone = [delete(table).where(table.c.application_id.in_(bindparam("application_ids", expanding=True)))
            .returning(table.c.application_id).cte(f"gone_{table.name}") for table in (waitlist, round_candidate)]
    return select(func.count()).select_from(union_all(*(select(g.c.application_id) for g in gone)).subquery())


UPSERT_WAITLISTED, REMOVE = _upsert_waitlisted(), _remove()  # built once: each score runs one of them


def _period_row(item: WaitlistEntry | RoundCandidate) -> dict[str, Any]:
    data = dict(vars(item))
    return data | {"period": _range((data.pop("starts_at"), data.pop("ends_at")))}


def _with_period(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    period = data.pop("period")
    return data | {"starts_at": period.lower, "ends_at": period.upper}


class WaitingRepository:
    """The waitlist, the P1/P2 round candidates, and the applications evaluation excluded: those not (yet) placed."""

    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add_waitlisted(self, *entries: WaitlistEntry) -> None:
        """Insert, or refresh the entry of an application that was scored again (its first arrival is kept)."""
        if entries:
            await self._session.execute(UPSERT_WAITLISTED, [_period_row(e) for e in entries])

    async def waitlist(self, *, program: ProgramCode | None = None, gpu_model: str | None = None,
                       without_offer: bool = False, limit: int = 200) -> list[WaitlistEntry]:
        """In rank order: score, then the round's rank, then first arrival."""
        stmt = (select(waitlist).order_by(waitlist.c.score.desc(), waitlist.c.rank.nulls_last(),
                                          waitlist.c.created_at, waitlist.c.application_id).limit(limit))
        for column, value in (("program", program), ("gpu_model", gpu_model)):
            if value is not None:
                stmt = stmt.where(waitlist.c[column] == value)
        if without_offer:
            stmt = stmt.where(waitlist.c.offer_id.is_(None))
        return [WaitlistEntry(**_with_period(r)) for r in (await self._session.execute(stmt)).all()]

    async def hold_for(self, application_id: UUID, offer_id: UUID | None) -> None:
        await self._session.execute(waitlist.update().where(waitlist.c.application_id == application_id)
                                    .values(offer_id=offer_id))

    async def add_candidate(self, candidate: RoundCandidate) -> None:
        row = _period_row(candidate)
        stmt = insert(round_candidate).values(row)
        await self._session.execute(stmt.on_conflict_do_update(
            index_elements=[round_candidate.c.application_id],
            set_={k: stmt.excluded[k] for k in row if k != "application_id"}))

    async def candidates(self, *, program: ProgramCode | None = None,
                         call_id: UUID | None = None) -> list[RoundCandidate]:
        stmt = select(round_candidate).order_by(round_candidate.c.score.desc(), round_candidate.c.application_id)
        for column, value in (("program", program), ("call_id", call_id)):
            if value is not None:
                stmt = stmt.where(round_candidate.c[column] == value)
        return [RoundCandidate(**_with_period(r)) for r in (await self._session.execute(stmt)).all()]

    async def first_missing(self, call_id: UUID) -> UUID | None:
        """An application the round expects that is neither a candidate nor excluded yet, or None.

        It stops at the first one found: while many are missing that is at once, so a round whose scores arrive one
        by one costs about n log n lookups in all, not n squared."""
        found: UUID | None = await self._session.scalar(FIRST_MISSING, {"call_id": call_id})
        return found

    async def call_of(self, application_id: UUID) -> UUID | None:
        """The round the application is a candidate of, or else the pending round that expects its score."""
        found: UUID | None = await self._session.scalar(select(round_candidate.c.call_id).where(
            round_candidate.c.application_id == application_id))
        if found is None:
            found = await self._session.scalar(select(round_.c.call_id).where(
                round_.c.status == "pending", round_.c.expected.any_() == application_id).limit(1))
        return found

    async def remove(self, *application_ids: UUID) -> bool:
        """Take the applications out of the waitlist and out of their round; True if any was in either."""
        return bool(await self._session.scalar(REMOVE, {"application_ids": list(application_ids)}))

    async def exclude(self, application_id: UUID, reason: str, at: datetime) -> None:
        """Remember that the application must never be placed (withdrawn, or rejected by evaluation), also when its
        score arrives afterwards."""
        await self._session.execute(insert(excluded_application).values(
            application_id=application_id, reason=reason, at=at).on_conflict_do_nothing())
        await self.remove(application_id)

    async def excluded(self, application_ids: Iterable[UUID]) -> set[UUID]:
        rows = await self._session.execute(select(excluded_application.c.application_id).where(
            excluded_application.c.application_id.in_(list(application_ids))))
        return set(rows.scalars().all())

    async def settled(self, application_id: UUID) -> bool:
        """Placed already (an allocation or hold that has not lapsed), withdrawn or excluded: one statement."""
        return bool(await self._session.scalar(SETTLED, {"application_id": application_id}))
