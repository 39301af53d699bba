"""Inventory, allocations and the waiting lines in and out of the database."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, delete, func, select
from sqlalchemy.dialects.postgresql import Range, insert
from sqlalchemy.ext.asyncio import AsyncSession

from allocation.adapters.orm import allocation, allocation_gpu, csp, round_candidate, server, waitlist
from allocation.domain.model import Allocation, Csp, RoundCandidate, Server, Slot, Status, WaitlistEntry

Period = tuple[datetime, datetime]


def _range(period: Period) -> Range[datetime]:
    return Range(period[0], period[1], bounds="[)")


def _servers() -> Select[Any]:
    return (select(server, csp.c.name.label("csp")).join(csp, csp.c.id == server.c.csp_id)
            .order_by(server.c.name))


class InventoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_csp(self, item: Csp) -> bool:
        """False when the name is taken (also under a concurrent insert): no exception, no aborted transaction."""
        stmt = insert(csp).values(vars(item)).on_conflict_do_nothing().returning(csp.c.id)
        return (await self._session.execute(stmt)).first() is not None

    async def csp_named(self, name: str) -> Csp | None:
        row = (await self._session.execute(select(csp).where(csp.c.name == name))).first()
        return Csp(**row._mapping) if row else None

    async def csps(self) -> list[Csp]:
        rows = (await self._session.execute(select(csp).order_by(csp.c.name))).all()
        return [Csp(**r._mapping) for r in rows]

    async def add_server(self, item: Server) -> bool:
        values = {k: v for k, v in vars(item).items() if k != "csp"}
        stmt = insert(server).values(values).on_conflict_do_nothing().returning(server.c.id)
        return (await self._session.execute(stmt)).first() is not None

    async def servers(self, *, pool: str | None = None, gpu_model: str | None = None) -> list[Server]:
        stmt = _servers()
        for column, value in (("pool", pool), ("gpu_model", gpu_model)):
            if value is not None:
                stmt = stmt.where(server.c[column] == value)
        return [Server(**r._mapping) for r in (await self._session.execute(stmt)).all()]

    async def free_slots(self, pool: str, gpu_model: str, period: Period) -> list[list[Slot]]:
        """Per server of the pool and model, the GPUs that are free for the whole period."""
        servers = await self.servers(pool=pool, gpu_model=gpu_model)
        stmt = (select(allocation_gpu.c.server_id, allocation_gpu.c.gpu_index)
                .join(server, server.c.id == allocation_gpu.c.server_id)
                .where(server.c.pool == pool, server.c.gpu_model == gpu_model,
                       allocation_gpu.c.during.overlaps(_range(period))))
        taken: dict[UUID, set[int]] = defaultdict(set)
        for server_id, gpu_index in (await self._session.execute(stmt)).all():
            taken[server_id].add(gpu_index)
        return [s.free_slots(taken[s.id]) for s in servers]

    async def capacity(self, pool: str, gpu_model: str | None, at: datetime) -> tuple[int, int]:
        """(total GPUs, GPUs allocated at the instant `at`) of a pool, optionally of one model."""
        total = select(func.coalesce(func.sum(server.c.gpus), 0)).where(server.c.pool == pool)
        used = (select(func.count()).select_from(allocation_gpu)
                .join(server, server.c.id == allocation_gpu.c.server_id)
                .where(server.c.pool == pool, allocation_gpu.c.during.contains(at)))
        if gpu_model is not None:
            total, used = total.where(server.c.gpu_model == gpu_model), used.where(server.c.gpu_model == gpu_model)
        return int(await self._session.scalar(total) or 0), int(await self._session.scalar(used) or 0)


def _allocation_row(item: Allocation) -> dict[str, Any]:
    return {k: v for k, v in vars(item).items() if k != "slots"} | {"status": item.status.value}


class AllocationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, item: Allocation) -> None:
        await self._session.execute(allocation.insert().values(_allocation_row(item)))
        during = _range((item.starts_at, item.ends_at))
        await self._session.execute(allocation_gpu.insert(), [
            {"allocation_id": item.id, "server_id": s.server_id, "gpu_index": s.gpu_index, "during": during}
            for s in item.slots])

    async def get(self, allocation_id: UUID, *, for_update: bool = False) -> Allocation | None:
        found = await self._load(allocation.c.id == allocation_id, for_update=for_update)
        return found[0] if found else None

    async def for_application(self, application_id: UUID, *, for_update: bool = False) -> Allocation | None:
        found = await self._load(allocation.c.application_id == application_id, for_update=for_update)
        return found[0] if found else None

    async def list(self, *, application_id: UUID | None = None, status: str | None = None,
                   limit: int = 50) -> list[Allocation]:
        conditions = [allocation.c[name] == value
                      for name, value in (("application_id", application_id), ("status", status))
                      if value is not None]
        return await self._load(*conditions, limit=limit)

    async def save(self, item: Allocation) -> None:
        """Write the status; an ended allocation's GPUs are held only until it ended."""
        row = _allocation_row(item)
        await self._session.execute(allocation.update().where(allocation.c.id == item.id).values(
            {k: row[k] for k in ("status", "ended_at", "end_reason", "warned_at")}))
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
        stmt = (select(allocation_gpu.c.allocation_id, allocation_gpu.c.gpu_index, server.c.id.label("server_id"),
                       server.c.name.label("server_name"), csp.c.name.label("csp"))
                .join(server, server.c.id == allocation_gpu.c.server_id).join(csp, csp.c.id == server.c.csp_id)
                .where(allocation_gpu.c.allocation_id.in_(list(allocation_ids)))
                .order_by(server.c.name, allocation_gpu.c.gpu_index))
        found: dict[UUID, list[Slot]] = defaultdict(list)
        for row in (await self._session.execute(stmt)).all():
            data = dict(row._mapping)
            found[data.pop("allocation_id")].append(Slot(**data))
        return found


def _period_row(item: WaitlistEntry | RoundCandidate) -> dict[str, Any]:
    data = dict(vars(item))
    return data | {"period": _range((data.pop("starts_at"), data.pop("ends_at")))}


def _with_period(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    period = data.pop("period")
    return data | {"starts_at": period.lower, "ends_at": period.upper}


class WaitingRepository:
    """The P3 waitlist and the P1/P2 round candidates: applications not (yet) placed."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_waitlisted(self, entry: WaitlistEntry) -> None:
        """Insert, or refresh the entry of an application that was scored again (its first arrival is kept)."""
        row = _period_row(entry)
        stmt = insert(waitlist).values(row)
        await self._session.execute(stmt.on_conflict_do_update(
            index_elements=[waitlist.c.application_id],
            set_={k: stmt.excluded[k] for k in row if k not in {"application_id", "created_at"}}))

    async def waitlist(self, *, program: str | None = None, limit: int = 200) -> list[WaitlistEntry]:
        stmt = (select(waitlist).order_by(waitlist.c.score.desc(), waitlist.c.created_at).limit(limit))
        if program is not None:
            stmt = stmt.where(waitlist.c.program == program)
        return [WaitlistEntry(**_with_period(r)) for r in (await self._session.execute(stmt)).all()]

    async def add_candidate(self, candidate: RoundCandidate) -> None:
        row = _period_row(candidate)
        stmt = insert(round_candidate).values(row)
        await self._session.execute(stmt.on_conflict_do_update(
            index_elements=[round_candidate.c.application_id],
            set_={k: stmt.excluded[k] for k in row if k != "application_id"}))

    async def candidates(self, *, program: str | None = None) -> list[RoundCandidate]:
        stmt = select(round_candidate).order_by(round_candidate.c.score.desc())
        if program is not None:
            stmt = stmt.where(round_candidate.c.program == program)
        return [RoundCandidate(**_with_period(r)) for r in (await self._session.execute(stmt)).all()]

    async def remove(self, application_id: UUID) -> bool:
        """Take the application out of the waitlist and out of its round; True if it was in either."""
        removed = 0
        for table in (waitlist, round_candidate):
            result = await self._session.execute(delete(table).where(table.c.application_id == application_id))
            removed += result.rowcount or 0  # type: ignore[attr-defined]
        return removed > 0
