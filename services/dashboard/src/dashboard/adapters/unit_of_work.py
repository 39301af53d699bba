"""The dashboard's SQL unit of work: the shared SQL unit of work plus its repositories.

It meets the service layer's port (dashboard.service.unit_of_work.DashboardUnitOfWork); the API's reads use it
directly.
"""
from __future__ import annotations

from dashboard.adapters.repository import ApplicationRepository, EventRepository
from servicekit.uow import SqlUnitOfWork


class SqlDashboardUnitOfWork(SqlUnitOfWork):
    events: EventRepository
    applications: ApplicationRepository

    def _start(self) -> None:
        self.events = EventRepository(self.session)
        self.applications = ApplicationRepository(self.session)
