"""What the dashboard's service layer relies on: its repositories, named as collections, and its unit of work."""
from __future__ import annotations

from typing import Protocol
from uuid import UUID

from dashboard.domain.model import ApplicationView, EventRecord
from servicekit.uow import UnitOfWork


class Events(Protocol):
    async def add(self, record: EventRecord) -> bool:
        """Keep the event; False when it is kept already (the same event id)."""


class Applications(Protocol):
    async def get(self, application_id: UUID, *, for_update: bool = False) -> ApplicationView | None: ...
    async def put(self, view: ApplicationView) -> None: ...


class DashboardUnitOfWork(UnitOfWork, Protocol):
    @property
    def events(self) -> Events: ...
    @property
    def applications(self) -> Applications: ...
