"""The dashboard's SQL unit of work: the shared SQL unit of work plus its repositories.

It meets the service layer's port (dashboard.service.unit_of_work.DashboardUnitOfWork); the API's reads use it
directly.
"""
from __future__ import annotations

from dashboard.adapters.repository import ApplicationRepository, EventRepository
from dashboard.adapters.repository_dead_letters import DeadLetterRepository
from dashboard.adapters.repository_views import (
    AllocationRepository,
    LadderRepository,
    ProfileRepository,
    RoundRepository,
    StaleAlertRepository,
    WaitlistRepository,
)
from servicekit.uow import SqlUnitOfWork


class SqlDashboardUnitOfWork(SqlUnitOfWork):
    events: EventRepository
    applications: ApplicationRepository
    dead_letters: DeadLetterRepository
    # the views
    profiles: ProfileRepository
    waitlist: WaitlistRepository
    allocations: AllocationRepository
    rounds: RoundRepository
    ladder: LadderRepository
    stale_alerts: StaleAlertRepository

    def _start(self) -> None:
        self.events = EventRepository(self.session)
        self.applications = ApplicationRepository(self.session)
        self.dead_letters = DeadLetterRepository(self.session)
        self._start_views()

    def _start_views(self) -> None:
        self.profiles = ProfileRepository(self.session)
        self.waitlist = WaitlistRepository(self.session)
        self.allocations = AllocationRepository(self.session)
        self.rounds = RoundRepository(self.session)
        self.ladder = LadderRepository(self.session)
        self.stale_alerts = StaleAlertRepository(self.session)
