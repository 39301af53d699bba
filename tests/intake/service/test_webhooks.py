"""Intake's service layer on the in-memory fakes: partners' webhooks registered and removed, and every status change
of a partner's application made due to each of its active webhooks in the transaction of the change."""
from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from intake.domain.commands import (
    CreateApplication,
    NotifyUsage,
    RecordOutcome,
    RegisterWebhook,
    RemoveWebhook,
    SubmitApplication,
)
from intake.domain.errors import InvalidInput, TooManyWebhooks, WebhookNotFound
from intake.domain.model import Application, Status
from intake.domain.webhooks import DeliveryState, Webhook
from servicekit.bus import MessageBus
from support.clock import ManualClock

from .fakes import MAX_WEBHOOKS, FakeIntakeUnitOfWork, p3_form

PARTNER, OTHER = UUID("00000000-0000-4000-8000-00000000000d"), UUID("00000000-0000-4000-8000-00000000000e")


async def register(bus: MessageBus, partner: UUID = PARTNER, url: str = "https://portal.example.kr/hooks") -> UUID:
    hook: Webhook = await bus.handle(RegisterWebhook(partner, url, "status changes"))
    return hook.id


async def test_a_registered_webhook_is_stored_with_a_secret_of_its_own(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    first, second = await register(bus), await register(bus)
    stored = uow.webhooks[first]
    assert (stored.partner_id, stored.url, stored.description, stored.created_at) == (
        PARTNER, "https://portal.example.kr/hooks", "status changes", clock.now)
    assert stored.secret.startswith("whsec_") and stored.secret != uow.webhooks[second].secret
    assert (uow.published, uow.commits) == ([], 2)


async def test_a_webhook_url_that_is_not_http_is_refused(uow: FakeIntakeUnitOfWork, bus: MessageBus) -> None:
    with pytest.raises(InvalidInput) as refused:
        await register(bus, url="ftp://portal.example.kr/hooks")
    assert refused.value.field == "url"
    assert uow.webhooks.rows == {}


async def test_a_partner_has_only_so_many_webhooks_and_a_removal_frees_a_place(
        uow: FakeIntakeUnitOfWork, bus: MessageBus) -> None:
    hooks = [await register(bus) for _ in range(MAX_WEBHOOKS)]
    with pytest.raises(TooManyWebhooks):
        await register(bus)
    await register(bus, OTHER)  # the cap is each partner's own
    await bus.handle(RemoveWebhook(PARTNER, hooks[0]))
    await register(bus)
    assert await uow.webhooks.count(PARTNER) == MAX_WEBHOOKS
    assert len(uow.webhooks.rows) == MAX_WEBHOOKS + 2


async def test_another_partners_webhook_cannot_be_removed(uow: FakeIntakeUnitOfWork, bus: MessageBus) -> None:
    hook = await register(bus)
    with pytest.raises(WebhookNotFound):
        await bus.handle(RemoveWebhook(OTHER, hook))
    with pytest.raises(WebhookNotFound):
        await bus.handle(RemoveWebhook(PARTNER, uuid4()))
    assert await uow.webhooks.count(PARTNER) == 1


async def test_a_webhook_is_removed_once(uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    hook = await register(bus)
    removed_at = clock.advance(minutes=5)
    await bus.handle(RemoveWebhook(PARTNER, hook))
    with pytest.raises(WebhookNotFound):
        await bus.handle(RemoveWebhook(PARTNER, hook))
    assert uow.webhooks.removed_at == {hook: removed_at}


async def test_every_status_change_is_due_to_each_active_webhook_of_the_partner_only(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    mine, also_mine, removed, theirs = (await register(bus), await register(bus), await register(bus),
                                        await register(bus, OTHER))
    await bus.handle(RemoveWebhook(PARTNER, removed))
    draft: Application = await bus.handle(CreateApplication(PARTNER, p3_form(), submit=False))
    submitted_at = clock.advance(hours=1)
    await bus.handle(SubmitApplication(draft.id, PARTNER))
    scored_at = submitted_at + timedelta(minutes=10)
    clock.advance(hours=1)
    await bus.handle(RecordOutcome(draft.id, Status.SCORED, "score 81.50", scored_at))
    due = {(d.webhook_id, d.status, d.occurred_at, d.due_at) for d in uow.webhooks.deliveries}
    assert due == {(hook, status, at, due_at) for hook in (mine, also_mine) for status, at, due_at in (
        ("draft", draft.created_at, draft.created_at), ("submitted", submitted_at, submitted_at),
        ("scored", scored_at, clock.now))}
    assert {d.state for d in uow.webhooks.deliveries} == {DeliveryState.PENDING}
    assert theirs not in {d.webhook_id for d in uow.webhooks.deliveries}


async def test_removing_a_webhook_cancels_what_it_still_had_to_deliver(
        uow: FakeIntakeUnitOfWork, bus: MessageBus) -> None:
    removed, kept = await register(bus), await register(bus)
    await bus.handle(CreateApplication(PARTNER, p3_form()))
    await bus.handle(RemoveWebhook(PARTNER, removed))
    states = {(d.webhook_id, d.state, d.due_at is None) for d in uow.webhooks.deliveries}
    assert states == {(removed, DeliveryState.CANCELLED, True), (kept, DeliveryState.PENDING, False)}


async def test_a_change_that_is_refused_notifies_nobody(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    await register(bus)
    app: Application = await bus.handle(CreateApplication(PARTNER, p3_form()))
    await bus.handle(RecordOutcome(app.id, Status.SCORED, "score 81.50", clock.now))
    await bus.handle(RecordOutcome(app.id, Status.IN_REVIEW, "late news", clock.now))  # stale: ignored
    assert [d.status for d in uow.webhooks.deliveries] == ["submitted", "scored"]


async def test_telemetrys_warning_and_recovery_reach_the_partner_of_an_active_application_only(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    await register(bus)
    active: Application = await bus.handle(CreateApplication(PARTNER, p3_form()))
    await bus.handle(RecordOutcome(active.id, Status.ACTIVE, "4 GPUs allocated", clock.now))
    waiting: Application = await bus.handle(CreateApplication(PARTNER, p3_form()))
    before = len(uow.webhooks.deliveries)
    warned_at = clock.advance(days=7)
    for app in (active, waiting):
        await bus.handle(NotifyUsage(app.id, "utilization warning: 4.2% ...", warned_at))
    await bus.handle(NotifyUsage(uuid4(), "utilization warning: 1.0% ...", warned_at))  # unknown: nobody told
    told = uow.webhooks.deliveries[before:]
    assert [(d.application_id, d.status, d.reason, d.occurred_at) for d in told] == [
        (active.id, "active", "utilization warning: 4.2% ...", warned_at)]
    assert uow.applications[active.id].status is Status.ACTIVE  # told, not changed
