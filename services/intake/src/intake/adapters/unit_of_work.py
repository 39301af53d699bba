"""Intake's SQL unit of work: the shared SQL unit of work plus intake's repositories."""
from __future__ import annotations

from typing import Self
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

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

    async def __aenter__(self) -> Self:
        transaction = await request_transaction()
        if transaction is not None:
            # a request holding an Idempotency-Key: its effects commit with its stored answer, in its transaction;
            # this unit's commit only releases a savepoint (docs/idempotency.md)
            self._session_factory = async_sessionmaker(**{**self._session_factory.kw, "bind": transaction,
                                                          "join_transaction_mode": "create_savepoint"})
        return await super().__aenter__()

    def _start(self) -> None:
        self.applications = ApplicationRepository(self.session)
        self.calls = CallRepository(self.session)
        bind = self._session_factory.kw.get("bind")
        self.programs = ProgramRepository(self.session, program_cache(bind) if bind is not None else None)
        self.webhooks = WebhookRepository(self.session)
        self.csps = CspRepository(self.session)
