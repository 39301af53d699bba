"""What intake's service layer relies on: its collections and its unit of work, as ports. The SQL unit of work
(adapters) meets them, and so does the in-memory one of the fast tests."""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from intake.domain.calls import Call, Program
from intake.domain.model import Application
from intake.domain.types import ProgramCode
from intake.domain.webhooks import Webhook
from servicekit.uow import UnitOfWork


class Applications(Protocol):
    """Storing an application stores the status changes it went through, and makes each due, from `now`, to its
    partner's active webhooks (one pending delivery per webhook and change, as `Webhooks.notify`): a change is never
    notified without being made, nor made without being notified."""

    async def add(self, app: Application, now: datetime) -> None:
        """Store a new application and the status changes it went through."""

    async def get(self, application_id: UUID, *, for_update: bool = False) -> Application | None: ...

    async def lock(self, application_ids: Collection[UUID]) -> None:
        """Read these applications for update at once, in the order of their ids, for the `get(…, for_update=True)`
        of each that follows: a batch of events takes its locks in one round trip and one order."""

    async def save(self, app: Application, now: datetime) -> None:
        """Store the application's form (a draft's may change), its status, its latest offer, and the status
        changes it went through."""

    async def submitted_to(self, call_id: UUID) -> list[UUID]:
        """Every application submitted to the call and not withdrawn, oldest first."""


class Calls(Protocol):
    async def add(self, new: Call) -> None: ...

    async def get(self, call_id: UUID, *, lock: Literal["share", "update"] | None = None) -> Call | None:
        """`share` while an application is submitted to it, `update` to close it: the two never interleave."""

    async def save(self, changed: Call) -> None: ...

    async def due(self, at: datetime) -> list[UUID]:
        """The calls still open whose `closes_at` is at or before `at`, soonest first, locked for closing; one that
        another transaction holds (an operator closing it) is skipped: it is that transaction's to close."""


class Programs(Protocol):
    async def get(self, code: ProgramCode) -> Program | None: ...


class Webhooks(Protocol):
    async def add(self, hook: Webhook) -> None: ...

    async def count(self, partner_id: UUID) -> int:
        """The partner's active webhooks."""

    async def remove(self, webhook_id: UUID, partner_id: UUID, at: datetime) -> bool:
        """Deactivate the webhook and cancel what it still had to deliver; False if the partner has no such one."""

    async def notify(self, partner_id: UUID, application_id: UUID, changes: Sequence[tuple[str, str]],
                     occurred_at: datetime, now: datetime) -> int:
        """One pending delivery, due `now`, per active webhook and change; the number of deliveries written."""

    async def notify_document(self, partner_id: UUID, event: str, document: Mapping[str, Any], occurred_at: datetime,
                              now: datetime) -> int:
        """One pending delivery, due `now`, per active webhook of the partner, for a billing document."""


class Csps(Protocol):
    async def add(self, csp_id: UUID, name: str, registered_at: datetime) -> None:
        """Known from now on, under the name it was last announced with; adding one again changes only that."""


class IntakeUnitOfWork(UnitOfWork, Protocol):
    """One transaction over intake's collections, its outbox and its inbox."""

    @property
    def applications(self) -> Applications: ...
    @property
    def calls(self) -> Calls: ...
    @property
    def programs(self) -> Programs: ...
    @property
    def webhooks(self) -> Webhooks: ...
    @property
    def csps(self) -> Csps: ...
