"""Intake's SQL unit of work: the shared SQL unit of work plus intake's repositories."""
from __future__ import annotations

from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from intake.adapters.idempotency import request_transaction
from intake.adapters.repository import ApplicationRepository
from intake.adapters.repository_calls import CallRepository, ProgramCache, ProgramRepository
from intake.adapters.repository_csps import CspRepository
from intake.adapters.repository_webhooks import WebhookRepository
from servicekit.uow import SqlUnitOfWork

# the programs of each database this process reaches, by its engine: read at most once per PROGRAMS_FRESH_S
_program_caches: WeakKeyDictionary[Engine, ProgramCache] = WeakKeyDictionary()


def program_cache(bind: AsyncEngine | AsyncConnection) -> ProgramCache:
    return _program_caches.setdefault(bind.sync_engine, ProgramCache())


class SqlIntakeUnitOfWork(SqlUnitOfWork):
    applications: ApplicationRepository
    calls: CallRepository
    programs: ProgramRepository
    webhooks: WebhookRepository
    csps: CspRepository

    async def _begin(self) -> AsyncConnection:
        transaction = await request_transaction()
        if transaction is not None:
            # a request holding an Idempotency-Key: its effects commit with its stored answer, in its transaction;
            # this unit's commit only releases a savepoint (docs/idempotency.md)
            return await self._join(transaction)
        return await super()._begin()

    def _start(self) -> None:
        self.applications = ApplicationRepository(self.session, self.write_last)
        self.calls = CallRepository(self.session)
        self.programs = ProgramRepository(self.session, program_cache(self.session))
        self.webhooks = WebhookRepository(self.session)
        self.csps = CspRepository(self.session)
