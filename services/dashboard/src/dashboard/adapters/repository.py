"""The dashboard's read model in and out of the database: events, applications, the funnel."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, any_, case, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from dashboard.adapters.orm import application, event
from dashboard.domain.model import ApplicationView, EventRecord, FunnelRow, Stage


@dataclass(frozen=True)
class EventFilter:
    """What an operator narrows the stream to; None is any."""

    program: str | None = None
    call_id: UUID | None = None
    application_id: UUID | None = None
    csp: str | None = None
    type: str | None = None

    def where(self) -> list[Any]:
        c = event.c
        found = [c.program == self.program if self.program else None,
                 c.call_id == self.call_id if self.call_id else None,
                 c.application_id == self.application_id if self.application_id else None,
                 any_(c.csps) == self.csp if self.csp else None,
                 c.type.startswith(self.type, autoescape=True) if self.type else None]
        return [f for f in found if f is not None]


class EventRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add_many(self, records: Sequence[EventRecord]) -> set[UUID]:
        if not records:
            return set()
        # one statement compiled once, its rows sent in batches (SQLAlchemy's "insertmanyvalues")
        stmt = insert(event).on_conflict_do_nothing().returning(event.c.event_id)
        rows = [{"event_id": r.event_id, "type": r.type, "topic": r.topic, "subject": r.subject,
                 "occurred_at": r.occurred_at, "application_id": r.application_id, "program": r.program,
                 "call_id": r.call_id, "csps": list(r.csps), "payload": dict(r.payload)} for r in records]
        return {row[0] for row in await self._session.execute(stmt, rows)}

    async def page(self, where: EventFilter, *, before: int | None, after: int | None,
                   limit: int) -> list[dict[str, Any]]:
        """Events matching `where`: newest first before `before`, or oldest first after `after`."""
        stmt = select(event).where(*where.where())
        if after is not None:
            stmt = stmt.where(event.c.seq > after).order_by(event.c.seq)
        else:
            if before is not None:
                stmt = stmt.where(event.c.seq < before)
            stmt = stmt.order_by(event.c.seq.desc())
        return [dict(row._mapping) for row in await self._session.execute(stmt.limit(limit))]

    async def story(self, application_id: UUID) -> list[dict[str, Any]]:
        """The application's events, and the documents (invoices, credit notes) that name it among others."""
        # the key as a literal, not a parameter, so that the partial GIN index (migration 0005) matches the query
        key: Any = literal_column("'application_ids'")
        named = and_(event.c.payload.op("?")(key),
                     event.c.payload.op("->")(key).op("@>")(func.jsonb_build_array(str(application_id))))
        stmt = (select(event).where(or_(event.c.application_id == application_id, named))
                .order_by(event.c.occurred_at, event.c.seq))
        return [dict(row._mapping) for row in await self._session.execute(stmt)]

    async def last_seq(self) -> int:
        return int(await self._session.scalar(select(func.coalesce(func.max(event.c.seq), 0))) or 0)


def _view(row: Any) -> ApplicationView:
    return ApplicationView(application_id=row.application_id, stage=Stage(row.stage), updated_at=row.updated_at,
                           program=row.program, call_id=row.call_id, gpus=row.gpus, csps=tuple(row.csps),
                           ends_at=row.ends_at)


class ApplicationRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def get(self, application_id: UUID, *, for_update: bool = False) -> ApplicationView | None:
        stmt = select(application).where(application.c.application_id == application_id)
        row = (await self._session.execute(stmt.with_for_update() if for_update else stmt)).first()
        return _view(row) if row else None

    async def get_many(self, application_ids: Collection[UUID], *,
                       for_update: bool = False) -> dict[UUID, ApplicationView]:
        if not application_ids:
            return {}
        # in the order of their ids, so that two transactions lock the rows they share in the same order
        stmt = (select(application).where(application.c.application_id.in_(sorted(application_ids)))
                .order_by(application.c.application_id))
        rows = await self._session.execute(stmt.with_for_update() if for_update else stmt)
        return {row.application_id: _view(row) for row in rows}

    async def put_many(self, views: Sequence[ApplicationView]) -> None:
        if not views:
            return
        stmt = insert(application)
        rows = [{"application_id": v.application_id, "stage": int(v.stage), "updated_at": v.updated_at,
                 "program": v.program, "call_id": v.call_id, "gpus": v.gpus, "csps": list(v.csps),
                 "ends_at": v.ends_at} for v in sorted(views, key=lambda v: v.application_id)]
        await self._session.execute(stmt.on_conflict_do_update(index_elements=[application.c.application_id], set_={
            name: stmt.excluded[name] for name in ("stage", "updated_at", "program", "call_id", "gpus", "csps",
                                                   "ends_at")}), rows)

    async def funnel(self, *, program: str | None, call_id: UUID | None, now: datetime) -> list[FunnelRow]:
        """Applications and GPUs per program, call and stage at `now` (an allocation past its end completed)."""
        c = application.c
        stage = case((and_(c.stage == int(Stage.ACTIVE), c.ends_at <= now), int(Stage.COMPLETED)), else_=c.stage)
        stmt = (select(c.program, c.call_id, stage.label("at_now"), func.count(), func.coalesce(func.sum(c.gpus), 0))
                .group_by(c.program, c.call_id, "at_now").order_by(c.program, c.call_id, "at_now"))
        if program:
            stmt = stmt.where(c.program == program)
        if call_id:
            stmt = stmt.where(c.call_id == call_id)
        return [FunnelRow(p, call, Stage(at), int(n), int(gpus))
                for p, call, at, n, gpus in await self._session.execute(stmt)]
