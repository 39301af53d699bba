"""Intake's SQL unit of work: the shared SQL unit of work plus intake's repositories."""
from __future__ import annotations

from typing import Self

from sqlalchemy.ext.asyncio import async_sessionmaker

from intake.adapters.idempotency import request_transaction
from intake.adapters.repository import ApplicationRepository
from intake.adapters.repository_calls import CallRepository, ProgramRepository
from intake.adapters.repository_csps import CspRepository
from intake.adapters.repository_webhooks import WebhookRepository
from servicekit.uow import SqlUnitOfWork


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
        self.programs = ProgramRepository(self.session)
        self.webhooks = WebhookRepository(self.session)
        self.csps = CspRepository(self.session)
