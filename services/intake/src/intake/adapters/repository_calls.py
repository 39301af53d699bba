"""Programs and calls in and out of the database."""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from intake.adapters.orm import call, program
from intake.adapters.repository import Cursor, keyset_page
from intake.domain.calls import Call, CallStatus, IntakeMode, Program
from intake.domain.types import ProgramCode


def _call(row: Any) -> Call:
    data = dict(row._mapping)
    return Call(**{**data, "status": CallStatus(data["status"])})


PROGRAMS_FRESH_S = 30.0
_EVERY_PROGRAM = select(program).order_by(program.c.code)


class ProgramCache:
    """The programs as last read from one database, trusted for `fresh_s` seconds: every application written reads
    its program, and the programs are reference data that no route changes (each has its own form, so a program is
    added or changed by a release's migration). Another replica's cache, or an operator's change by hand, is thus
    seen within `fresh_s`; a code the cache does not know is read again at once. An application's program is also a
    foreign key: none is ever stored for a program that is gone."""

    def __init__(self, fresh_s: float = PROGRAMS_FRESH_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._fresh_s = fresh_s
        self._clock = clock
        self._programs: dict[str, Program] = {}
        self._read_at = -math.inf

    def get(self, code: ProgramCode) -> Program | None:
        """The program if it was read less than `fresh_s` ago; None when it must be read."""
        return self._programs.get(code) if self._clock() - self._read_at < self._fresh_s else None

    def fill(self, programs: Iterable[Program], read_at: float) -> None:
        """Every program, as read at `read_at` (the clock's time when the read began)."""
        self._programs, self._read_at = {p.code: p for p in programs}, read_at

    def now(self) -> float:
        return self._clock()


class ProgramRepository:
    def __init__(self, session: AsyncConnection, cache: ProgramCache | None = None) -> None:
        self._session = session
        self._cache = cache

    async def get(self, code: ProgramCode) -> Program | None:
        cached = self._cache.get(code) if self._cache is not None else None
        if cached is not None:
            return cached
        return next((p for p in await self.every() if p.code == code), None)

    async def every(self) -> list[Program]:
        """Read from the database; the cache, if any, is filled with them."""
        read_at = self._cache.now() if self._cache is not None else 0.0
        rows = (await self._session.execute(_EVERY_PROGRAM)).all()
        programs = [Program(r.code, r.name, IntakeMode(r.intake_mode)) for r in rows]
        if self._cache is not None:
            self._cache.fill(programs, read_at)
        return programs


class CallRepository:
    def __init__(self, session: AsyncConnection) -> None:
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
