"""What the dashboard's service layer relies on: its repositories, named as collections, and its unit of work."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from dashboard.domain.dead_letters import DeadLetter
from dashboard.domain.model import ApplicationView, EventRecord
from dashboard.domain.views import Grant, LadderStep, Profile, Reclaim, RoundResult, StaleAlert
from servicekit.uow import UnitOfWork


class Events(Protocol):
    async def add_many(self, records: Sequence[EventRecord]) -> set[UUID]:
        """Keep each event not kept yet (by its id); the ids kept now."""


class Applications(Protocol):
    async def get(self, application_id: UUID, *, for_update: bool = False) -> ApplicationView | None: ...
    async def get_many(self, application_ids: Collection[UUID], *,
                       for_update: bool = False) -> dict[UUID, ApplicationView]: ...
    async def put_many(self, views: Sequence[ApplicationView]) -> None: ...


class DeadLetters(Protocol):
    async def add(self, letters: Sequence[DeadLetter]) -> int:
        """Keep each parked record not kept yet (by its place on its dead-letter topic); how many were new."""

    async def mark_redriven(self, topic: str, partition: int, offset: int, *, at: datetime, by: str) -> bool:
        """Note that the record was re-driven; False if no record is kept at that place."""


class Profiles(Protocol):
    async def merge_many(self, profiles: Sequence[Profile]) -> None:
        """Keep what each event told of its application, in order: each field told replaces the one kept, each not
        told is left as it is (so the submission and the score merge in either order)."""


class Allocations(Protocol):
    async def merge_many(self, changes: Sequence[Grant | Reclaim]) -> None:
        """Keep each allocation's GPUs, model, CSPs and period, and when it was taken back (in either order)."""


class Rounds(Protocol):
    async def put_many(self, results: Sequence[RoundResult]) -> None:
        """Keep each round's latest result."""


class Ladder(Protocol):
    async def add_many(self, steps: Sequence[LadderStep]) -> None:
        """Keep each step (once: by its event)."""


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
