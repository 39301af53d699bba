"""Intake's collections in memory, behind the ports its service layer relies on (intake.service.unit_of_work),
and what the service tests build on them: the bus with intake's own handlers, valid forms, and applications in a
given state.

Like the SQL repositories, `get` hands out a copy (a handler changes nothing until it saves), `save` stores one, and
the status changes an application went through are recorded, then cleared from it, when it is stored.
"""
from __future__ import annotations

import copy
import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4

from intake.domain.calls import Call, IntakeMode, Program
from intake.domain.forms import Applicant, Company, Form, Limits, Researcher
from intake.domain.model import Application, Status
from intake.domain.offers import Offer
from intake.domain.types import ProgramCode
from intake.domain.webhooks import DeliveryState, Webhook
from intake.service.handlers import HANDLERS
from intake.service.unit_of_work import IntakeUnitOfWork
from servicekit.bus import MessageBus
from support.clock import ManualClock
from support.fakes import FakeUnitOfWork, fake_bus

PROGRAMS = (Program("P1", "High-performance computing support", IntakeMode.ROUND),
            Program("P2", "AI research computing support", IntakeMode.ROUND),
            Program("P3", "Government-owned GPUs", IntakeMode.ROLLING))
MAX_WEBHOOKS = 3


@dataclass(frozen=True)
class StatusRow:
    status: Status
    reason: str
    at: datetime


class FakeApplications:
    """Storing an application also notifies its status changes to its partner's webhooks, as the SQL one does."""

    def __init__(self, webhooks: FakeWebhooks) -> None:
        self.rows: dict[UUID, Application] = {}
        self.history: dict[UUID, list[StatusRow]] = {}
        self.locked: list[list[UUID]] = []  # each `lock`'s ids, in the order they would be locked
        self._webhooks = webhooks

    def __getitem__(self, application_id: UUID) -> Application:
        """The application as stored (tests read it; handlers go through `get`)."""
        return self.rows[application_id]

    def __len__(self) -> int:
        return len(self.rows)

    async def add(self, app: Application, now: datetime) -> None:
        if app.id in self.rows:
            raise ValueError(f"duplicate application {app.id}")
        self.history[app.id] = []
        await self._store(app, now)

    async def get(self, application_id: UUID, *, for_update: bool = False) -> Application | None:
        found = self.rows.get(application_id)
        return copy.deepcopy(found) if found is not None else None

    async def lock(self, application_ids: Collection[UUID]) -> None:
        self.locked.append(sorted(set(application_ids)))

    async def save(self, app: Application, now: datetime) -> None:
        if app.id not in self.rows:
            raise KeyError(f"no application {app.id} to save")
        await self._store(app, now)

    async def submitted_to(self, call_id: UUID) -> list[UUID]:
        handed_on = [a for a in self.rows.values() if a.call_id == call_id
                     and a.status not in (Status.DRAFT, Status.WITHDRAWN)]
        return [a.id for a in sorted(handed_on, key=lambda a: (a.submitted_at or a.created_at, a.id))]

    def statuses(self, application_id: UUID) -> list[Status]:
        """Every status the application went through, in order."""
        return [row.status for row in self.history[application_id]]

    async def _store(self, app: Application, now: datetime) -> None:
        at = app.updated_at or app.created_at
        self.history[app.id] += [StatusRow(status, reason, at) for status, reason in app.history]
        await self._webhooks.notify(app.partner_id, app.id, [(s.value, r) for s, r in app.history], at, now)
        app.history.clear()
        self.rows[app.id] = copy.deepcopy(app)


class FakeCalls:
    def __init__(self) -> None:
        self.rows: dict[UUID, Call] = {}

    def __getitem__(self, call_id: UUID) -> Call:
        return self.rows[call_id]

    async def add(self, new: Call) -> None:
        if new.id in self.rows:
            raise ValueError(f"duplicate call {new.id}")
        self.rows[new.id] = copy.deepcopy(new)

    async def get(self, call_id: UUID, *, lock: Literal["share", "update"] | None = None) -> Call | None:
        found = self.rows.get(call_id)
        return copy.deepcopy(found) if found is not None else None

    async def save(self, changed: Call) -> None:
        if changed.id not in self.rows:
            raise KeyError(f"no call {changed.id} to save")
        self.rows[changed.id] = copy.deepcopy(changed)

    async def due(self, at: datetime) -> list[UUID]:
        due = [c for c in self.rows.values() if c.is_due(at)]
        return [c.id for c in sorted(due, key=lambda c: (c.closes_at, c.id))]


class FakePrograms:
    def __init__(self, programs: Sequence[Program] = PROGRAMS) -> None:
        self.rows: dict[str, Program] = {p.code: p for p in programs}

    async def get(self, code: ProgramCode) -> Program | None:
        return self.rows.get(code)


@dataclass
class DocumentDelivery:
    """One pending notification of a billing document to one webhook."""

    webhook_id: UUID
    event: str
    document: dict[str, Any]
    occurred_at: datetime
    due_at: datetime | None


@dataclass
class Delivery:
    """One pending notification of one status change to one webhook, as the webhooks' outbox holds it."""

    webhook_id: UUID
    application_id: UUID
    status: str
    reason: str
    occurred_at: datetime
    due_at: datetime | None
    state: DeliveryState = DeliveryState.PENDING


class FakeWebhooks:
    def __init__(self) -> None:
        self.rows: dict[UUID, Webhook] = {}
        self.removed_at: dict[UUID, datetime] = {}
        self.deliveries: list[Delivery] = []
        self.document_deliveries: list[DocumentDelivery] = []

    def __getitem__(self, webhook_id: UUID) -> Webhook:
        return self.rows[webhook_id]

    def active(self, partner_id: UUID) -> list[Webhook]:
        return [h for h in self.rows.values() if h.partner_id == partner_id and h.id not in self.removed_at]

    async def add(self, hook: Webhook) -> None:
        if hook.id in self.rows:
            raise ValueError(f"duplicate webhook {hook.id}")
        self.rows[hook.id] = hook

    async def count(self, partner_id: UUID) -> int:
        return len(self.active(partner_id))

    async def remove(self, webhook_id: UUID, partner_id: UUID, at: datetime) -> bool:
        if webhook_id not in {h.id for h in self.active(partner_id)}:
            return False
        self.removed_at[webhook_id] = at
        for delivery in self.deliveries:
            if delivery.webhook_id == webhook_id and delivery.state is DeliveryState.PENDING:
                delivery.state, delivery.due_at = DeliveryState.CANCELLED, None
        return True

    async def notify(self, partner_id: UUID, application_id: UUID, changes: Sequence[tuple[str, str]],
                     occurred_at: datetime, now: datetime) -> int:
        written = [Delivery(hook.id, application_id, status, reason, occurred_at, now)
                   for hook in self.active(partner_id) for status, reason in changes]
        self.deliveries += written
        return len(written)

    async def notify_document(self, partner_id: UUID, event: str, document: Mapping[str, Any], occurred_at: datetime,
                              now: datetime) -> int:
        written = [DocumentDelivery(hook.id, event, dict(document), occurred_at, now)
                   for hook in self.active(partner_id)]
        self.document_deliveries += written
        return len(written)


class FakeCsps:
    """The inventory's CSPs intake has heard of: id → (name, registered_at)."""

    def __init__(self) -> None:
        self.by_id: dict[UUID, tuple[str, datetime]] = {}

    async def add(self, csp_id: UUID, name: str, registered_at: datetime) -> None:
        first = self.by_id.get(csp_id, (name, registered_at))[1]
        self.by_id[csp_id] = (name, first)


class FakeIntakeUnitOfWork(FakeUnitOfWork):
    def __init__(self, programs: Sequence[Program] = PROGRAMS) -> None:
        super().__init__()
        self.webhooks = FakeWebhooks()
        self.applications = FakeApplications(self.webhooks)
        self.calls = FakeCalls()
        self.programs = FakePrograms(programs)
        self.csps = FakeCsps()


def _fits(uow: FakeIntakeUnitOfWork) -> IntakeUnitOfWork:
    """Never called: mypy checks here that the fake is what the handlers take."""
    return uow


def intake_bus(uow: FakeIntakeUnitOfWork, clock: ManualClock, *, limits: Limits | None = None,
               max_webhooks: int = MAX_WEBHOOKS) -> MessageBus:
    """Intake's own handlers over the fake, wired as bootstrap wires them."""
    return fake_bus(uow, HANDLERS, clock=clock, limits=limits or Limits(), max_webhooks=max_webhooks)


APPLICANT = Applicant("Kim Minji", "industry", "Haneul AI", "Busan")


def p3_form(**changes: Any) -> Form:
    """P3 (rolling): 4 GPUs for a 3-month window from 1 December 2026."""
    form = Form(program="P3", applicant=APPLICANT, gpu_model="H100", period_start=date(2026, 12, 1),
                period_end=date(2027, 2, 28), planned_gpu_hours_per_month=2000, purpose="fine-tuning a Korean LLM",
                gpus_requested=4, earliest_start=date(2026, 12, 1), acceptable_window_months=3)
    return dataclasses.replace(form, **changes)


def p1_form(call_id: UUID, **changes: Any) -> Form:
    """P1 (rounds): 8 GPUs for a startup, in the call `call_id`."""
    company = Company("1234567891", "startup", "Busan", date(1992, 3, 14))
    form = Form(program="P1", applicant=APPLICANT, gpu_model="H100", period_start=date(2027, 1, 1),
                period_end=date(2027, 6, 30), planned_gpu_hours_per_month=3000, purpose="a customer-service model",
                call_id=call_id, gpus_requested=8, company=company, training_data_scale="200 GB of text")
    return dataclasses.replace(form, **changes)


def p2_form(call_id: UUID) -> Form:
    """P2 (rounds): two whole servers for a university researcher, in the call `call_id`."""
    return Form(program="P2", applicant=Applicant("Prof. Lee", "academia", "Chonnam National University", "Gwangju"),
                gpu_model="H200", period_start=date(2027, 1, 1), period_end=date(2027, 12, 31),
                planned_gpu_hours_per_month=8000, purpose="protein structure model", call_id=call_id,
                servers_requested=2, researcher=Researcher("university", date(2022, 3, 1), date(1988, 7, 21)))


def an_offer(now: datetime, *, answer_within: timedelta = timedelta(days=3)) -> Offer:
    """4 H100 GPUs from 1 December to 28 February, made `now`."""
    return Offer(uuid4(), "H100", 4, datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 2, 28, tzinfo=UTC),
                 expires_at=now + answer_within, made_at=now)
