"""Intake's unit of work: the shared SQL unit of work plus intake's repositories."""
from __future__ import annotations

from intake.adapters.calls import CallRepository, ProgramRepository
from intake.adapters.repository import ApplicationRepository
from intake.adapters.webhooks import WebhookRepository
from servicekit.uow import SqlUnitOfWork


class IntakeUnitOfWork(SqlUnitOfWork):
    applications: ApplicationRepository
    calls: CallRepository
    programs: ProgramRepository
    webhooks: WebhookRepository

    def _start(self) -> None:
        self.applications = ApplicationRepository(self.session)
        self.calls = CallRepository(self.session)
        self.programs = ProgramRepository(self.session)
        self.webhooks = WebhookRepository(self.session)
