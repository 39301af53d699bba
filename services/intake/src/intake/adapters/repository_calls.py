"""Programs and calls in and out of the database."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters.orm import call, program
from intake.adapters.repository import Cursor, keyset_page
from intake.domain.calls import Call, CallStatus, IntakeMode, Program
from intake.domain.types import ProgramCode


def _call(row: Any) -> Call:
    data = dict(row._mapping)
    return Call(**{**data, "status": CallStatus(data["status"])})


class ProgramRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, code: ProgramCode) -> Program | None:
        row = (await self._session.execute(select(program).where(program.c.code == code))).first()
        return Program(row.code, row.name, IntakeMode(row.intake_mode)) if row else None

    async def every(self) -> list[Program]:
        rows = (await self._session.execute(select(program).order_by(program.c.code))).all()
        return [Program(r.code, r.name, IntakeMode(r.intake_mode)) for r in rows]


class CallRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, new: Call) -> None:
        await self._session.execute(call.insert().values({**vars(new), "status": new.status.value}))

    async def get(self, call_id: UUID, *, lock: Literal["share", "update"] | None = None) -> Call | None:
        """`share` while an application is submitted to it, `update` to close it: the two never interleave."""
        stmt = select(call).where(call.c.id == call_id)
        if lock is not None:
            stmt = stmt.with_for_update(read=lock == "share")
        row = (await self._session.execute(stmt)).first()
        return _call(row) if row else None

    async def save(self, changed: Call) -> None:
        await self._session.execute(call.update().where(call.c.id == changed.id).values(
            status=changed.status.value, closed_at=changed.closed_at))

    async def due(self, at: datetime) -> list[UUID]:
        """The calls still open whose `closes_at` is at or before `at`, soonest first, locked for closing; one that
        another transaction holds (an operator closing it, a submission to it) is skipped until the next round."""
        stmt = (select(call.c.id).where(call.c.status == CallStatus.OPEN.value, call.c.closes_at <= at)
                .order_by(call.c.closes_at, call.c.id).with_for_update(skip_locked=True))
        return list((await self._session.scalars(stmt)).all())

    async def page(self, *, program: ProgramCode | None = None, status: str | None = None, after: Cursor | None = None,
                   limit: int = 50) -> list[Call]:
        """Calls, the latest to open first, optionally filtered."""
        stmt = select(call)
        for column, value in (("program", program), ("status", status)):
            if value is not None:
                stmt = stmt.where(call.c[column] == value)
        stmt = keyset_page(stmt, call.c.opens_at, call.c.id, after, limit)
        return [_call(r) for r in (await self._session.execute(stmt)).all()]
