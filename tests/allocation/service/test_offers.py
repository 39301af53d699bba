"""Freed capacity offered to the waiting line on the in-memory fakes: hold, re-check, offer, answer, expiry."""
from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from allocation.domain.commands import (
    AcceptOffer,
    AllocateGpus,
    ConfirmEligibility,
    DeclineOffer,
    ExcludeApplication,
    ExpireOffers,
    WithdrawApplication,
)
from allocation.domain.model import Status
from allocation.domain.offers import OfferState
from allocation.domain.policy import Policy
from contracts import EligibilityRecheckRequested, OfferExpired, OfferMade, ResourceAllocated
from servicekit.bus import MessageBus
from support.clock import ManualClock

from .fakes import FakeAllocationUnitOfWork, request, seeded

POLICY = Policy(offer_ttl=timedelta(hours=48), offer_answer_grace=timedelta(minutes=5),
                recheck_timeout=timedelta(hours=1))


async def a_line_offered_a_freed_pool(clock: ManualClock) -> tuple[FakeAllocationUnitOfWork, MessageBus,
                                                                     AllocateGpus, AllocateGpus]:
    """The whole pool held by one allocation, then 16 GPUs (score 90) and 8 GPUs (score 70) waiting; the holder
    withdraws, so both are held GPUs and re-checked: the big one first."""
    uow, bus = await seeded(clock, policy=POLICY)
    holder = await bus.handle(request(32))
    big, small = request(16, score=90), request(8, score=70)
    await bus.handle(small)
    await bus.handle(big)
    await bus.handle(WithdrawApplication(holder.application_id, clock.now))
    return uow, bus, big, small


def offer_to(uow: FakeAllocationUnitOfWork, application: AllocateGpus) -> UUID:
    (offer,) = [o for o in uow.offers.of(application.application_id) if o.pending]
    return offer.id


async def test_nothing_reaches_the_partner_before_the_recheck_confirms() -> None:
    clock = ManualClock()
    uow, _bus, big, small = await a_line_offered_a_freed_pool(clock)
    rechecks = uow.outbox.of_type(EligibilityRecheckRequested)
    assert [(r.application_id, r.program) for r in rechecks] == [(big.application_id, "P3"),
                                                                 (small.application_id, "P3")]
    assert {uow.offers[r.offer_id].state for r in rechecks} == {OfferState.AWAITING_RECHECK}
    assert uow.outbox.of_type(OfferMade) == []


async def test_a_confirmed_offer_goes_out_until_its_ttl_and_only_once() -> None:
    clock = ManualClock()
    uow, bus, big, _small = await a_line_offered_a_freed_pool(clock)
    offer_id = offer_to(uow, big)
    confirmed_at = clock.advance(minutes=3)
    await bus.handle(ConfirmEligibility(big.application_id, offer_id, confirmed_at))
    await bus.handle(ConfirmEligibility(big.application_id, offer_id, clock.advance(minutes=1)))  # redelivered
    (made,) = uow.outbox.of_type(OfferMade)
    assert (made.offer_id, made.gpus, made.expires_at) == (offer_id, 16, confirmed_at + timedelta(hours=48))
    offer = uow.offers[offer_id]
    assert (offer.state, offer.made_at, offer.latency_s) == (OfferState.OPEN, confirmed_at, 180.0)


async def test_an_accepted_offer_becomes_the_allocation_and_leaves_the_line() -> None:
    clock = ManualClock()
    uow, bus, big, small = await a_line_offered_a_freed_pool(clock)
    offer_id = offer_to(uow, big)
    await bus.handle(ConfirmEligibility(big.application_id, offer_id, clock.now))
    await bus.handle(AcceptOffer(big.application_id, offer_id, clock.advance(hours=2)))
    (taken,) = uow.allocations.of(big.application_id)
    assert (taken.status, uow.offers[offer_id].state) == (Status.ACTIVE, OfferState.ACCEPTED)
    (allocated,) = [e for e in uow.outbox.of_type(ResourceAllocated) if e.application_id == big.application_id]
    assert (allocated.allocation_id, allocated.planned_gpu_hours_per_month) == (taken.id, 1500)
    assert list(uow.waiting.waitlisted) == [small.application_id]


async def test_an_answer_for_an_offer_of_another_application_is_ignored() -> None:
    clock = ManualClock()
    uow, bus, big, small = await a_line_offered_a_freed_pool(clock)
    offer_id = offer_to(uow, big)
    await bus.handle(ConfirmEligibility(big.application_id, offer_id, clock.now))
    await bus.handle(AcceptOffer(small.application_id, offer_id, clock.now))
    await bus.handle(DeclineOffer(small.application_id, offer_id, clock.now))
    assert uow.offers[offer_id].state is OfferState.OPEN
    assert uow.allocations.of(big.application_id)[0].status is Status.OFFERED


async def test_a_declined_offer_lets_the_gpus_go_to_the_next_in_line_and_the_decliner_leaves() -> None:
    clock = ManualClock()
    uow, bus, big, small = await a_line_offered_a_freed_pool(clock)
    waiting = request(16, score=50)
    await bus.handle(waiting)                                  # nothing is free for it yet
    offer_id = offer_to(uow, big)
    await bus.handle(ConfirmEligibility(big.application_id, offer_id, clock.now))
    await bus.handle(DeclineOffer(big.application_id, offer_id, clock.advance(hours=1)))
    await bus.handle(DeclineOffer(big.application_id, offer_id, clock.advance(hours=1)))  # a second answer
    assert uow.offers[offer_id].state is OfferState.DECLINED
    assert uow.allocations.of(big.application_id)[0].status is Status.LAPSED
    assert await uow.waiting.excluded([big.application_id]) == {big.application_id}
    (held,) = uow.allocations.of(waiting.application_id)
    assert (held.status, held.gpus) == (Status.OFFERED, 16)
    assert set(uow.waiting.waitlisted) == {small.application_id, waiting.application_id}


async def test_an_ineligible_application_leaves_the_line_and_its_gpus_go_to_the_next() -> None:
    clock = ManualClock()
    uow, bus, big, _small = await a_line_offered_a_freed_pool(clock)
    waiting = request(16, score=50)
    await bus.handle(waiting)
    offer_id = offer_to(uow, big)
    await bus.handle(ExcludeApplication(big.application_id, "company_size: no longer small", clock.now, offer_id))
    assert uow.offers[offer_id].state is OfferState.INELIGIBLE
    assert uow.waiting.excluded_because[big.application_id] == "rejected: company_size: no longer small"
    assert uow.allocations.of(waiting.application_id)[0].status is Status.OFFERED


async def test_a_withdrawal_while_gpus_are_held_for_it_closes_the_offer() -> None:
    clock = ManualClock()
    uow, bus, big, small = await a_line_offered_a_freed_pool(clock)
    offer_id = offer_to(uow, big)
    await bus.handle(WithdrawApplication(big.application_id, clock.now))
    assert uow.offers[offer_id].state is OfferState.WITHDRAWN
    assert uow.allocations.of(big.application_id)[0].status is Status.LAPSED
    assert list(uow.waiting.waitlisted) == [small.application_id]


async def test_an_open_offer_expires_after_its_ttl_and_the_grace_and_a_late_acceptance_changes_nothing() -> None:
    clock = ManualClock()
    uow, bus, big, _small = await a_line_offered_a_freed_pool(clock)
    offer_id = offer_to(uow, big)
    await bus.handle(ConfirmEligibility(big.application_id, offer_id, clock.now))
    assert await bus.handle(ExpireOffers(clock.advance(hours=48, minutes=4))) == 0
    assert await bus.handle(ExpireOffers(clock.advance(minutes=2))) == 1
    (expired,) = uow.outbox.of_type(OfferExpired)
    assert (expired.offer_id, uow.offers[offer_id].state) == (offer_id, OfferState.EXPIRED)
    await bus.handle(AcceptOffer(big.application_id, offer_id, clock.advance(hours=1)))
    assert uow.allocations.of(big.application_id)[0].status is Status.LAPSED
    assert len(uow.outbox.of_type(OfferExpired)) == 2          # the late partner hears it again


async def test_an_acceptance_given_in_time_counts_though_it_arrives_after_the_expiry() -> None:
    clock = ManualClock()
    uow, bus, big, _small = await a_line_offered_a_freed_pool(clock)
    offer_id = offer_to(uow, big)
    await bus.handle(ConfirmEligibility(big.application_id, offer_id, clock.now))
    given = clock.advance(hours=47)
    clock.advance(hours=2)                                     # it arrives after the offer's expiry
    await bus.handle(AcceptOffer(big.application_id, offer_id, given))
    assert uow.offers[offer_id].state is OfferState.ACCEPTED
    assert uow.outbox.of_type(OfferExpired) == []


async def test_an_acceptance_after_the_expiry_closes_the_offer_at_once_and_frees_the_gpus() -> None:
    clock = ManualClock()
    uow, bus, big, _small = await a_line_offered_a_freed_pool(clock)
    waiting = request(16, score=50)
    await bus.handle(waiting)
    offer_id = offer_to(uow, big)
    await bus.handle(ConfirmEligibility(big.application_id, offer_id, clock.now))
    await bus.handle(AcceptOffer(big.application_id, offer_id, clock.advance(hours=49)))
    assert uow.offers[offer_id].state is OfferState.EXPIRED
    (told,) = uow.outbox.of_type(OfferExpired)
    assert told.offer_id == offer_id
    assert uow.allocations.of(waiting.application_id)[0].status is Status.OFFERED


async def test_a_recheck_left_unanswered_lets_the_hold_go_and_asks_again_without_telling_the_partner() -> None:
    clock = ManualClock()
    uow, bus, big, small = await a_line_offered_a_freed_pool(clock)
    first = {o.id for o in uow.offers.by_id.values()}
    assert await bus.handle(ExpireOffers(clock.advance(minutes=59))) == 0
    assert len(uow.outbox.of_type(EligibilityRecheckRequested)) == 2
    await bus.handle(ExpireOffers(clock.advance(minutes=2)))
    again = [r for r in uow.outbox.of_type(EligibilityRecheckRequested) if r.offer_id not in first]
    assert sorted(r.application_id for r in again) == sorted([big.application_id, small.application_id])
    assert {uow.offers[o].state for o in first} == {OfferState.EXPIRED}
    assert uow.outbox.of_type(OfferExpired) == []              # the partners never saw the first offers
    assert {a: e.offer_id for a, e in uow.waiting.waitlisted.items()} == {r.application_id: r.offer_id
                                                                          for r in again}
    assert sorted(a.status for a in uow.allocations.by_id.values()) == sorted(
        [Status.LAPSED, Status.LAPSED, Status.OFFERED, Status.OFFERED, Status.RELEASED])
