"""Intake's unit of work: the shared SQL unit of work plus the application repository."""
from __future__ import annotations

from intake.adapters.repository import ApplicationRepository
from servicekit.uow import SqlUnitOfWork


class IntakeUnitOfWork(SqlUnitOfWork):
    applications: ApplicationRepository

    def _start(self) -> None:
        self.applications = ApplicationRepository(self.session)
