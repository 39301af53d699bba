"""The inventory in and out of the database: CSPs, servers, their availability windows, free GPUs and capacity."""
from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BindParameter,
    Boolean,
    DateTime,
    Select,
    Text,
    and_,
    bindparam,
    delete,
    exists,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import Range, aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from allocation.adapters.orm import allocation_gpu, csp, server, server_gpu, server_window
from allocation.domain.model import Csp, ProgramCode, Server, Slot, day_start, program_day
from allocation.domain.windows import Period, Window

Span = tuple[datetime | None, datetime | None]  # a period either end of which may be open


def as_range(period: Span) -> Range[datetime]:
    return Range(period[0], period[1], bounds="[)")


def _servers() -> Select[Any]:
    """Servers with their CSP's name and their GPU UUIDs in index order (_server makes each a Server)."""
    uuids = (select(func.array_agg(aggregate_order_by(server_gpu.c.gpu_uuid, server_gpu.c.gpu_index)))
             .where(server_gpu.c.server_id == server.c.id).scalar_subquery())
    return (select(server, csp.c.name.label("csp"), uuids.label("gpu_uuids")).join(csp, csp.c.id == server.c.csp_id)
            .order_by(server.c.name))


def _server(row: Any) -> Server:
    return Server(**{**row._mapping, "gpu_uuids": tuple(row.gpu_uuids or ())})  # no GPU row: NULL


def _free(row: Any) -> list[Slot]:
    """A row of FREE_SLOTS: its server's GPUs not taken, in index order."""
    taken = set(row.taken or ())
    return [Slot(server_name=row.name, gpu_index=i, server_id=row.id, csp=row.csp, csp_id=row.csp_id,
                 gpu_uuid=row.gpu_uuids[i] if row.gpu_uuids else None) for i in range(row.gpus) if i not in taken]


def _serving(pool: ProgramCode, during: Any) -> Any:
    """The server has one window in `pool` that covers all of `during` (a range or an instant)."""
    return exists().where(server_window.c.server_id == server.c.id, server_window.c.pool == pool,
                          server_window.c.during.contains(during))


DAILY_CAPACITY = text("""
WITH day AS (
    SELECT d AS starts_at, tstzrange(d, d + interval '1 day') AS during
    FROM generate_series(CAST(:first AS timestamptz), CAST(:last AS timestamptz), interval '1 day') AS d
), serving AS (
    SELECT day.starts_at, day.during, s.id, s.gpu_model, s.gpus
    FROM day
    JOIN allocation.server_window w ON w.pool = :pool AND w.during @> day.during
    JOIN allocation.server s ON s.id = w.server_id
    WHERE CAST(:gpu_model AS text) IS NULL OR s.gpu_model = :gpu_model
)
SELECT serving.starts_at, serving.gpu_model, sum(serving.gpus) AS total_gpus,
       coalesce(sum(used.gpus), 0) AS allocated_gpus
FROM serving
LEFT JOIN LATERAL (
    SELECT count(*) AS gpus FROM allocation.allocation_gpu g
    WHERE g.server_id = serving.id AND g.during && serving.during
) AS used ON true
GROUP BY serving.starts_at, serving.gpu_model
ORDER BY serving.starts_at, serving.gpu_model
""")


# the parameters of the statements placement runs for every score, which are built once
_PLACEMENT: list[BindParameter[Any]] = [
    bindparam("pool", type_=Text), bindparam("gpu_model", type_=Text),
    *(bindparam(end, type_=DateTime(timezone=True)) for end in ("starts_at", "ends_at"))]

# per server of the model serving the pool for the whole period (one window covers it), the indexes of its GPUs taken
# at some time of it, each once; a server with none free is left out (with `whole_only`, one with any taken), and the
# free ones are the rest of 0..gpus-1, listed in Python: PostgreSQL spent about a third of this statement's time
# listing them (generate_series and an aggregate a server)
FREE_SLOTS = text("""
SELECT s.id, s.name, s.csp_id, c.name AS csp, s.gpus, taken.indexes AS taken,
       (SELECT array_agg(g.gpu_uuid ORDER BY g.gpu_index) FROM allocation.server_gpu g
        WHERE g.server_id = s.id) AS gpu_uuids
FROM allocation.server s
JOIN allocation.csp c ON c.id = s.csp_id
CROSS JOIN LATERAL (
    SELECT array_agg(DISTINCT a.gpu_index) AS indexes FROM allocation.allocation_gpu a
    WHERE a.server_id = s.id AND a.gpu_index < s.gpus AND a.during && tstzrange(:starts_at, :ends_at)
) AS taken
WHERE s.gpu_model = :gpu_model
  AND EXISTS (SELECT 1 FROM allocation.server_window w
              WHERE w.server_id = s.id AND w.pool = :pool AND w.during @> tstzrange(:starts_at, :ends_at))
  AND coalesce(cardinality(taken.indexes), 0) < CASE WHEN :whole_only THEN 1 ELSE s.gpus END
ORDER BY s.name
""").bindparams(*_PLACEMENT, bindparam("whole_only", type_=Boolean))

# the distinct spans of the pool's windows of servers of the model that overlap a period (either end may be open)
WINDOW_SPANS = text("""
SELECT DISTINCT lower(w.during) AS starts_at, upper(w.during) AS ends_at
FROM allocation.server_window w
JOIN allocation.server s ON s.id = w.server_id
WHERE w.pool = :pool AND s.gpu_model = :gpu_model AND w.during && tstzrange(:starts_at, :ends_at)
""").bindparams(*_PLACEMENT)


class InventoryRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add_csp(self, item: Csp) -> bool:
        """False when the name is taken (also under a concurrent insert): no exception, no aborted transaction."""
        stmt = insert(csp).values(vars(item)).on_conflict_do_nothing().returning(csp.c.id)
        return (await self._session.execute(stmt)).first() is not None

    async def csp_named(self, name: str) -> Csp | None:
        row = (await self._session.execute(select(csp).where(csp.c.name == name))).first()
        return Csp(**row._mapping) if row else None

    async def every_csp(self) -> list[Csp]:
        rows = (await self._session.execute(select(csp).order_by(csp.c.name))).all()
        return [Csp(**r._mapping) for r in rows]

    async def add_server(self, item: Server) -> bool:
        """False when the name is taken (also under a concurrent insert); the GPU UUIDs are set_gpu_uuids' part."""
        values = {k: v for k, v in vars(item).items() if k not in {"csp", "gpu_uuids"}}
        stmt = insert(server).values(values).on_conflict_do_nothing().returning(server.c.id)
        return (await self._session.execute(stmt)).first() is not None

    async def server(self, server_id: UUID) -> Server | None:
        row = (await self._session.execute(_servers().where(server.c.id == server_id))).first()
        return _server(row) if row else None

    async def servers(self, *, pool: ProgramCode | None = None, gpu_model: str | None = None) -> list[Server]:
        stmt = _servers()
        for column, value in (("pool", pool), ("gpu_model", gpu_model)):
            if value is not None:
                stmt = stmt.where(server.c[column] == value)
        return [_server(r) for r in (await self._session.execute(stmt)).all()]

    async def gpu_uuid_holders(self, gpu_uuids: Collection[str]) -> dict[str, str]:
        stmt = (select(server_gpu.c.gpu_uuid, server.c.name).join(server, server.c.id == server_gpu.c.server_id)
                .where(server_gpu.c.gpu_uuid.in_(list(gpu_uuids))))
        return {gpu_uuid: name for gpu_uuid, name in (await self._session.execute(stmt)).all()}

    async def set_gpu_uuids(self, server_id: UUID, gpu_uuids: tuple[str, ...]) -> bool:
        """False when another server has one of them, also under a concurrent write (no exception, no aborted
        transaction: the caller refuses, and its transaction is rolled back)."""
        await self._session.execute(delete(server_gpu).where(server_gpu.c.server_id == server_id))
        if not gpu_uuids:
            return True
        stmt = (insert(server_gpu).values([{"server_id": server_id, "gpu_index": i, "gpu_uuid": u}
                                           for i, u in enumerate(gpu_uuids)])
                .on_conflict_do_nothing().returning(server_gpu.c.gpu_uuid))
        return len((await self._session.execute(stmt)).all()) == len(gpu_uuids)

    async def add_window(self, window: Window) -> None:
        await self._session.execute(server_window.insert().values(
            id=window.id, server_id=window.server_id, pool=window.pool, note=window.note,
            during=as_range((window.starts_at, window.ends_at))))

    async def window(self, window_id: UUID) -> Window | None:
        found = await self.windows(window_id=window_id)
        return found[0] if found else None

    async def set_window_end(self, window: Window) -> None:
        await self._session.execute(server_window.update().where(server_window.c.id == window.id).values(
            during=as_range((window.starts_at, window.ends_at))))

    async def holders(self, server_id: UUID, during: Span) -> list[UUID]:
        """The allocations (active or held for an offer) with a GPU of the server at some time of `during`."""
        stmt = (select(allocation_gpu.c.allocation_id).distinct()
                .where(allocation_gpu.c.server_id == server_id, allocation_gpu.c.during.overlaps(as_range(during))))
        return list((await self._session.execute(stmt)).scalars().all())

    async def windows(self, *, window_id: UUID | None = None, server_id: UUID | None = None,
                      pool: ProgramCode | None = None, gpu_model: str | None = None,
                      overlapping: Span | None = None) -> list[Window]:
        """By server name, then start (an open start first)."""
        stmt = (select(server_window).join(server, server.c.id == server_window.c.server_id)
                .order_by(server.c.name, func.lower(server_window.c.during).nulls_first()))
        for condition, wanted in ((server_window.c.id == window_id, window_id),
                                  (server_window.c.server_id == server_id, server_id),
                                  (server_window.c.pool == pool, pool), (server.c.gpu_model == gpu_model, gpu_model)):
            if wanted is not None:
                stmt = stmt.where(condition)
        if overlapping is not None:
            stmt = stmt.where(server_window.c.during.overlaps(as_range(overlapping)))
        rows = (await self._session.execute(stmt)).all()
        return [Window(id=r.id, server_id=r.server_id, pool=r.pool, starts_at=r.during.lower,
                       ends_at=r.during.upper, note=r.note) for r in rows]

    async def window_spans(self, pool: ProgramCode, gpu_model: str, overlapping: Span) -> list[Span]:
        """The spans of the pool's windows (servers of the model) that overlap `overlapping`, each once, in no
        particular order."""
        rows = await self._session.execute(WINDOW_SPANS, {"pool": pool, "gpu_model": gpu_model,
                                                          "starts_at": overlapping[0], "ends_at": overlapping[1]})
        return [(starts_at, ends_at) for starts_at, ends_at in rows]

    async def free_slots(self, pool: ProgramCode, gpu_model: str, period: Period, *,
                         whole_only: bool = False) -> list[list[Slot]]:
        """Per server serving the pool for the whole period (one window covers it), the GPUs free all along;
        a server with none free is left out, and `whole_only` keeps only the servers with every GPU free."""
        rows = await self._session.execute(FREE_SLOTS, {"pool": pool, "gpu_model": gpu_model, "starts_at": period[0],
                                                        "ends_at": period[1], "whole_only": whole_only})
        return [_free(row) for row in rows]

    async def capacity(self, pool: ProgramCode, gpu_model: str | None, at: datetime) -> tuple[int, int]:
        """(GPUs serving the pool at the instant `at`, of those the GPUs allocated or held then)."""
        serving = and_(_serving(pool, at), *([server.c.gpu_model == gpu_model] if gpu_model else []))
        total = select(func.coalesce(func.sum(server.c.gpus), 0)).where(serving)
        used = (select(func.count()).select_from(allocation_gpu)
                .join(server, server.c.id == allocation_gpu.c.server_id)
                .where(serving, allocation_gpu.c.during.contains(at)))
        return int(await self._session.scalar(total) or 0), int(await self._session.scalar(used) or 0)

    async def daily_capacity(self, pool: ProgramCode, gpu_model: str | None, first: date,
                             last: date) -> list[dict[str, Any]]:
        """Per day in Korea and GPU model: the GPUs serving the pool all day, and those allocated at any time that
        day."""
        rows = await self._session.execute(DAILY_CAPACITY, {
            "pool": pool, "gpu_model": gpu_model, "first": day_start(first), "last": day_start(last)})
        return [{"day": program_day(r.starts_at), "gpu_model": r.gpu_model, "total_gpus": int(r.total_gpus),
                 "allocated_gpus": int(r.allocated_gpus)} for r in rows.all()]
