"""The dashboard's read model in and out of the database: events, applications, the funnel."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, any_, case, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

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
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, record: EventRecord) -> bool:
        stmt = insert(event).values(
            event_id=record.event_id, type=record.type, topic=record.topic, subject=record.subject,
            occurred_at=record.occurred_at, application_id=record.application_id, program=record.program,
            call_id=record.call_id, csps=list(record.csps), payload=dict(record.payload),
        ).on_conflict_do_nothing().returning(event.c.seq)
        return (await self._session.execute(stmt)).first() is not None

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
        stmt = (select(event).where(event.c.application_id == application_id)
                .order_by(event.c.occurred_at, event.c.seq))
        return [dict(row._mapping) for row in await self._session.execute(stmt)]

    async def last_seq(self) -> int:
        return int(await self._session.scalar(select(func.coalesce(func.max(event.c.seq), 0))) or 0)


def _view(row: Any) -> ApplicationView:
    return ApplicationView(application_id=row.application_id, stage=Stage(row.stage), updated_at=row.updated_at,
                           program=row.program, call_id=row.call_id, gpus=row.gpus, csps=tuple(row.csps),
                           ends_at=row.ends_at)


class ApplicationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, application_id: UUID, *, for_update: bool = False) -> ApplicationView | None:
        stmt = select(application).where(application.c.application_id == application_id)
        row = (await self._session.execute(stmt.with_for_update() if for_update else stmt)).first()
        return _view(row) if row else None

    async def put(self, view: ApplicationView) -> None:
        values = {"stage": int(view.stage), "updated_at": view.updated_at, "program": view.program,
                  "call_id": view.call_id, "gpus": view.gpus, "csps": list(view.csps), "ends_at": view.ends_at}
        stmt = insert(application).values(application_id=view.application_id, **values)
        await self._session.execute(stmt.on_conflict_do_update(index_elements=[application.c.application_id],
                                                               set_=values))

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
