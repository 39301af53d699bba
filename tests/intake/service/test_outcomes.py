"""Intake's service layer on the in-memory fakes: the other services' outcomes recorded as the application's status,
and offers of freed capacity recorded, answered by the partner, or let expire by allocation."""
from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from contracts import ApplicationSubmitted, OfferAccepted, OfferDeclined
from intake.domain.commands import (
    AcceptOffer,
    CreateApplication,
    DeclineOffer,
    ExpireOffer,
    RecordOffer,
    RecordOutcome,
)
from intake.domain.errors import OfferClosed
from intake.domain.model import Application, Status
from intake.domain.offers import Offer, OfferState
from intake.service.handlers import lock_applications
from servicekit.bus import MessageBus
from support.clock import ManualClock

from .fakes import FakeIntakeUnitOfWork, an_offer, p3_form

PARTNER = UUID("00000000-0000-4000-8000-00000000000b")


async def submitted(bus: MessageBus) -> UUID:
    app: Application = await bus.handle(CreateApplication(PARTNER, p3_form()))
    return app.id


async def offered(bus: MessageBus, clock: ManualClock, offer: Offer | None = None) -> tuple[UUID, Offer]:
    """A submitted application, waitlisted, then offered freed capacity (by default for three days)."""
    app_id, offer = await submitted(bus), offer or an_offer(clock.now)
    await bus.handle(RecordOutcome(app_id, Status.WAITLISTED, "no capacity now", clock.now))
    await bus.handle(RecordOffer(app_id, offer))
    return app_id, offer


async def test_an_outcome_moves_the_application_forward_as_of_when_it_happened(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    app_id = await submitted(bus)
    scored_at = clock.now + timedelta(minutes=3)
    clock.advance(hours=1)  # the outcome is recorded later than it happened
    await bus.handle(RecordOutcome(app_id, Status.SCORED, "score 81.50", scored_at))
    stored = uow.applications[app_id]
    assert (stored.status, stored.status_reason, stored.updated_at) == (Status.SCORED, "score 81.50", scored_at)
    assert uow.applications.statuses(app_id) == [Status.SUBMITTED, Status.SCORED]


async def test_an_outcome_that_arrives_late_changes_nothing(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    app_id = await submitted(bus)
    await bus.handle(RecordOutcome(app_id, Status.SCORED, "score 81.50", clock.now))
    await bus.handle(RecordOutcome(app_id, Status.IN_REVIEW, "3 reviewers assigned", clock.now))
    assert uow.applications[app_id].status is Status.SCORED
    assert uow.applications.statuses(app_id) == [Status.SUBMITTED, Status.SCORED]


async def test_an_outcome_for_an_application_intake_never_had_is_ignored(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    await bus.handle(RecordOutcome(uuid4(), Status.SCORED, "score 81.50", clock.now))
    await bus.handle(RecordOffer(uuid4(), an_offer(clock.now)))
    await bus.handle(ExpireOffer(uuid4(), uuid4(), clock.now))
    assert (len(uow.applications), uow.published, uow.commits) == (0, [], 3)  # consumed, not retried


async def test_an_offer_to_a_waitlisted_application_is_open_for_the_partner_to_answer(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    app_id, offer = await offered(bus, clock)
    stored = uow.applications[app_id]
    assert stored.status is Status.OFFERED
    assert stored.offer is not None and (stored.offer.id, stored.offer.state) == (offer.id, OfferState.OPEN)
    assert stored.status_reason == offer.describe()


async def test_an_offer_to_an_application_that_has_moved_on_is_ignored(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    app_id = await submitted(bus)
    await bus.handle(RecordOutcome(app_id, Status.ACTIVE, "4 GPUs allocated", clock.now))
    await bus.handle(RecordOffer(app_id, an_offer(clock.now)))
    assert (uow.applications[app_id].status, uow.applications[app_id].offer) == (Status.ACTIVE, None)


async def test_accepting_the_offer_in_time_tells_allocation(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    app_id, offer = await offered(bus, clock)
    accepted_at = clock.advance(days=2)
    await bus.handle(AcceptOffer(app_id, PARTNER))
    stored = uow.applications[app_id]
    assert stored.status is Status.ACCEPTED
    assert stored.offer is not None and (stored.offer.state, stored.offer.answered_at) == (OfferState.ACCEPTED,
                                                                                          accepted_at)
    assert [(e.application_id, e.offer_id) for e in uow.outbox.of_type(OfferAccepted)] == [(app_id, offer.id)]


async def test_an_offer_cannot_be_answered_once_it_has_expired(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    app_id, _ = await offered(bus, clock)
    clock.advance(days=3, seconds=1)
    with pytest.raises(OfferClosed):
        await bus.handle(AcceptOffer(app_id, PARTNER))
    with pytest.raises(OfferClosed):
        await bus.handle(DeclineOffer(app_id, PARTNER, "too late anyway"))
    assert uow.applications[app_id].status is Status.OFFERED
    assert uow.outbox.of_type(OfferAccepted) == uow.outbox.of_type(OfferDeclined) == []


async def test_declining_the_offer_tells_allocation_why_and_leaves_the_waitlist(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    app_id, offer = await offered(bus, clock)
    await bus.handle(DeclineOffer(app_id, PARTNER, "the period no longer suits us"))
    stored = uow.applications[app_id]
    assert (stored.status, stored.status_reason) == (Status.DECLINED, "offer declined: the period no longer suits us")
    [declined] = uow.outbox.of_type(OfferDeclined)
    assert (declined.offer_id, declined.reason) == (offer.id, "the period no longer suits us")


async def test_an_offer_is_answered_once(uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    app_id, _ = await offered(bus, clock)
    await bus.handle(AcceptOffer(app_id, PARTNER))
    with pytest.raises(OfferClosed):
        await bus.handle(DeclineOffer(app_id, PARTNER, "changed our minds"))
    with pytest.raises(OfferClosed):
        await bus.handle(AcceptOffer(app_id, PARTNER))
    assert uow.applications[app_id].status is Status.ACCEPTED
    assert (len(uow.outbox.of_type(OfferAccepted)), uow.outbox.of_type(OfferDeclined)) == (1, [])


async def test_an_application_without_an_offer_has_nothing_to_answer(
        uow: FakeIntakeUnitOfWork, bus: MessageBus) -> None:
    app_id = await submitted(bus)
    with pytest.raises(OfferClosed):
        await bus.handle(AcceptOffer(app_id, PARTNER))
    assert uow.applications[app_id].status is Status.SUBMITTED


async def test_an_offer_allocation_let_lapse_declines_the_application(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    app_id, offer = await offered(bus, clock)
    lapsed_at = clock.advance(days=3)
    await bus.handle(ExpireOffer(app_id, offer.id, lapsed_at))
    stored = uow.applications[app_id]
    assert (stored.status, stored.status_reason, stored.updated_at) == (Status.DECLINED, "offer expired unanswered",
                                                                         lapsed_at)
    assert stored.offer is not None and stored.offer.state is OfferState.EXPIRED
    assert [type(e) for e in uow.published] == [ApplicationSubmitted]  # allocation let it lapse: it needs no telling


async def test_an_acceptance_that_reached_allocation_too_late_lapses_too(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    app_id, offer = await offered(bus, clock)
    await bus.handle(AcceptOffer(app_id, PARTNER))
    await bus.handle(ExpireOffer(app_id, offer.id, clock.advance(days=3)))
    assert uow.applications[app_id].status_reason == "offer expired before the answer reached allocation"
    assert uow.applications[app_id].status is Status.DECLINED


async def test_the_expiry_of_another_offer_changes_nothing(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    app_id, _ = await offered(bus, clock)
    await bus.handle(ExpireOffer(app_id, uuid4(), clock.advance(days=3)))
    stored = uow.applications[app_id]
    assert stored.status is Status.OFFERED
    assert stored.offer is not None and stored.offer.state is OfferState.OPEN


async def test_a_batch_reads_the_applications_its_outcomes_and_offers_change_at_once_in_the_order_of_their_ids(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    first, second, third = await submitted(bus), await submitted(bus), await submitted(bus)
    batch = [RecordOutcome(third, Status.SCORED, "score 70.00", clock.now),
             RecordOutcome(first, Status.SCORED, "score 81.50", clock.now),
             RecordOutcome(third, Status.ACTIVE, "4 GPUs allocated", clock.now),
             RecordOutcome(second, Status.WAITLISTED, "no capacity now", clock.now),
             RecordOffer(second, an_offer(clock.now))]
    ran = await bus.handle_in_order([(uuid4(), "outcome", cmd) for cmd in batch], prepare=lock_applications)
    assert ran == len(batch)
    assert uow.applications.locked == [sorted([first, second, third])]
    assert [uow.applications[a].status for a in (first, second, third)] == [
        Status.SCORED, Status.OFFERED, Status.ACTIVE]
    assert uow.applications.statuses(third) == [Status.SUBMITTED, Status.SCORED, Status.ACTIVE]


async def test_a_batch_that_changes_one_application_leaves_its_reading_to_the_handlers(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    app_id = await submitted(bus)
    batch = [RecordOutcome(app_id, Status.SCORED, "score 81.50", clock.now),
             RecordOutcome(app_id, Status.ACTIVE, "4 GPUs allocated", clock.now)]
    assert await bus.handle_in_order([(uuid4(), "outcome", cmd) for cmd in batch], prepare=lock_applications) == 2
    assert uow.applications.locked == []
    assert uow.applications.statuses(app_id) == [Status.SUBMITTED, Status.SCORED, Status.ACTIVE]
