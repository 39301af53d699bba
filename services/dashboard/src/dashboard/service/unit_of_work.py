"""What the dashboard's service layer relies on: its repositories, named as collections, and its unit of work."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from dashboard.domain.dead_letters import DeadLetter
from dashboard.domain.model import ApplicationView, EventRecord
from dashboard.domain.views import Grant, LadderStep, Profile, Reclaim, RoundResult, StaleAlert
from servicekit.uow import UnitOfWork


class Events(Protocol):
    async def add(self, record: EventRecord) -> bool:
        """Keep the event; False when it is kept already (the same event id)."""


class Applications(Protocol):
    async def get(self, application_id: UUID, *, for_update: bool = False) -> ApplicationView | None: ...
    async def put(self, view: ApplicationView) -> None: ...


class DeadLetters(Protocol):
    async def add(self, letters: Sequence[DeadLetter]) -> int:
        """Keep each parked record not kept yet (by its place on its dead-letter topic); how many were new."""

    async def mark_redriven(self, topic: str, partition: int, offset: int, *, at: datetime, by: str) -> bool:
        """Note that the record was re-driven; False if no record is kept at that place."""


class Profiles(Protocol):
    async def merge(self, profile: Profile) -> None:
        """Keep what the event told of the application: each field it tells replaces the one kept, each it does not
        tell is left as it is (so the submission and the score merge in either order)."""


class Allocations(Protocol):
    async def grant(self, grant: Grant) -> None:
        """Keep the allocation's GPUs, model, CSPs and period (a reclaim read first stays)."""

    async def reclaim(self, reclaim: Reclaim) -> None:
        """Note when the allocation was taken back (its grant read before or after)."""


class Rounds(Protocol):
    async def put(self, result: RoundResult) -> None: ...


class Ladder(Protocol):
    async def add(self, step: LadderStep) -> None:
        """Keep the step (once: by its event)."""


class StaleAlerts(Protocol):
    async def add(self, alert: StaleAlert) -> None:
        """Keep the alert for each CSP it names, unless a later one of the allocation is kept there."""


class DashboardUnitOfWork(UnitOfWork, Protocol):
    @property
    def events(self) -> Events: ...
    @property
    def applications(self) -> Applications: ...
    @property
    def dead_letters(self) -> DeadLetters: ...
    # the views (balance, demand, occupancy, reclaim ladder, CSPs): dashboard.service.views
    @property
    def profiles(self) -> Profiles: ...
    @property
    def allocations(self) -> Allocations: ...
    @property
    def rounds(self) -> Rounds: ...
    @property
    def ladder(self) -> Ladder: ...
    @property
    def stale_alerts(self) -> StaleAlerts: ...
