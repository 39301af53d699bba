"""The re-check at award on the in-memory fakes: a round's selected are held, evaluation's answer allocates them or
hands their GPUs to the next in line, and an unanswered re-check is asked again."""
from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

from allocation.domain.commands import (
    AcceptOffer,
    AddRoundCandidate,
    ConfirmEligibility,
    DeclineOffer,
    ExcludeApplication,
    ExpireOffers,
    WithdrawApplication,
)
from allocation.domain.model import Status
from allocation.domain.offers import Offer, OfferKind, OfferState
from allocation.domain.policy import Policy
from allocation.domain.rounds import RoundDecision
from contracts import ApplicationWaitlisted, EligibilityRecheckRequested, OfferMade, ResourceAllocated, RoundSelected
from servicekit.bus import MessageBus
from support.clock import ManualClock

from .fakes import FakeAllocationUnitOfWork, seeded, servers
from .test_rounds import candidate, end_of

POLICY = Policy(recheck_timeout=timedelta(hours=1))


async def a_selected_round(clock: ManualClock, policy: Policy = POLICY) -> tuple[
        FakeAllocationUnitOfWork, MessageBus, list[AddRoundCandidate]]:
    """Two whole H200 servers for three one-server applications (scores 90, 80, 70): two selected, one waits."""
    uow, bus = await seeded(clock, *servers("P2", 2, gpu_model="H200"), policy=policy)
    call = uuid4()
    line = [candidate(call, score, f"Institute {score}") for score in (90, 80, 70)]
    for c in line:
        await bus.handle(c)
    await bus.handle(end_of(call, *line))
    return uow, bus, line


def decisions(uow: FakeAllocationUnitOfWork, application: AddRoundCandidate) -> dict[UUID, RoundDecision]:
    """The decisions of the application's round, by application."""
    assert application.call_id is not None
    return {d.application_id: d for d in uow.rounds.decisions[application.call_id]}


def award_of(uow: FakeAllocationUnitOfWork, application: AddRoundCandidate) -> Offer:
    (offer,) = [o for o in uow.offers.of(application.application_id) if o.pending]
    return offer


async def test_the_selected_are_held_and_rechecked_before_anything_is_allocated() -> None:
    clock = ManualClock()
    uow, _bus, (first, second, third) = await a_selected_round(clock)
    rechecks = uow.outbox.of_type(EligibilityRecheckRequested)
    assert sorted(r.application_id for r in rechecks) == sorted([first.application_id, second.application_id])
    awards = [uow.offers[r.offer_id] for r in rechecks]
    assert {(o.kind, o.state, o.requested_at) for o in awards} == {
        (OfferKind.AWARD, OfferState.AWAITING_RECHECK, clock.now)}
    assert {uow.allocations.by_id[o.allocation_id].status for o in awards} == {Status.OFFERED}
    assert uow.outbox.of_type(ResourceAllocated) == [] and uow.outbox.of_type(OfferMade) == []
    (waiting,) = uow.outbox.of_type(ApplicationWaitlisted)
    assert (waiting.application_id, waiting.rank) == (third.application_id, 1)
    (summary,) = uow.outbox.of_type(RoundSelected)
    assert (summary.selected, summary.gpus_awarded) == (2, 16)      # selected now, allocated once re-checked


async def test_a_confirmed_award_is_allocated_at_once_and_only_once() -> None:
    clock = ManualClock()
    uow, bus, (first, _second, _third) = await a_selected_round(clock)
    award = award_of(uow, first)
    confirmed_at = clock.advance(minutes=2)
    await bus.handle(ConfirmEligibility(first.application_id, award.id, confirmed_at))
    await bus.handle(ConfirmEligibility(first.application_id, award.id, clock.advance(minutes=1)))  # redelivered
    (allocated,) = uow.outbox.of_type(ResourceAllocated)
    (taken,) = uow.allocations.of(first.application_id)
    assert (allocated.application_id, allocated.allocation_id, allocated.gpus) == (first.application_id, taken.id, 8)
    assert allocated.planned_gpu_hours_per_month == 3000 and len(allocated.slots) == 8
    assert taken.status is Status.ACTIVE
    assert (uow.offers[award.id].state, uow.offers[award.id].made_at) == (OfferState.ACCEPTED, confirmed_at)
    assert uow.outbox.of_type(OfferMade) == []                     # no partner's answer is asked for
    decision = decisions(uow, first)[first.application_id]
    assert (decision.selected, decision.allocation_id) == (True, taken.id)


async def test_an_award_found_ineligible_lapses_and_its_gpus_go_to_the_next_in_line() -> None:
    clock = ManualClock()
    uow, bus, (first, second, third) = await a_selected_round(clock)
    award = award_of(uow, first)
    await bus.handle(ExcludeApplication(first.application_id, "company_size: no longer small", clock.advance(
        minutes=5), award.id))
    assert uow.offers[award.id].state is OfferState.INELIGIBLE
    assert uow.allocations.of(first.application_id)[0].status is Status.LAPSED
    decided = decisions(uow, first)
    rejected = decided[first.application_id]
    assert (rejected.selected, rejected.basis, rejected.allocation_id) == (False, "rejected_at_award", None)
    assert "ineligible at award: company_size: no longer small" in rejected.reason
    assert decided[second.application_id].selected                 # the other award is untouched
    next_in_line = award_of(uow, third)                              # the runner-up is offered the freed server
    assert (next_in_line.kind, next_in_line.state) == (OfferKind.WAITLIST, OfferState.AWAITING_RECHECK)
    assert uow.allocations.by_id[next_in_line.allocation_id].status is Status.OFFERED
    assert uow.waiting.waitlisted[third.application_id].offer_id == next_in_line.id
    assert uow.outbox.of_type(ResourceAllocated) == []


async def test_an_unanswered_award_recheck_is_asked_again_keeping_its_gpus() -> None:
    clock = ManualClock()
    uow, bus, (first, second, _third) = await a_selected_round(clock)
    before = {a: award_of(uow, a) for a in (first, second)}
    await bus.handle(ExpireOffers(clock.advance(minutes=59)))
    assert len(uow.outbox.of_type(EligibilityRecheckRequested)) == 2  # not yet
    await bus.handle(ExpireOffers(clock.advance(minutes=2)))
    again = {a: award_of(uow, a) for a in (first, second)}
    assert all(uow.offers[o.id].state is OfferState.EXPIRED for o in before.values())
    for a in (first, second):
        assert (again[a].kind, again[a].allocation_id, again[a].freed_at) == (
            OfferKind.AWARD, before[a].allocation_id, before[a].freed_at)   # the same GPUs, held all along
        assert uow.allocations.by_id[again[a].allocation_id].status is Status.OFFERED
    asked = {r.offer_id for r in uow.outbox.of_type(EligibilityRecheckRequested)}
    assert {o.id for o in again.values()} <= asked
    await bus.handle(ConfirmEligibility(first.application_id, before[first].id, clock.now))  # the late first answer
    assert uow.outbox.of_type(ResourceAllocated) == []
    await bus.handle(ConfirmEligibility(first.application_id, again[first].id, clock.now))
    assert [e.application_id for e in uow.outbox.of_type(ResourceAllocated)] == [first.application_id]


async def test_a_withdrawal_during_the_award_recheck_lets_the_gpus_go_to_the_next_in_line() -> None:
    clock = ManualClock()
    uow, bus, (first, _second, third) = await a_selected_round(clock)
    award = award_of(uow, first)
    await bus.handle(WithdrawApplication(first.application_id, clock.now))
    assert uow.offers[award.id].state is OfferState.WITHDRAWN
    assert uow.allocations.by_id[award.allocation_id].status is Status.LAPSED
    assert award_of(uow, third).kind is OfferKind.WAITLIST
    await bus.handle(ConfirmEligibility(first.application_id, award.id, clock.now))  # an answer come too late
    assert uow.outbox.of_type(ResourceAllocated) == []


async def test_a_partner_cannot_answer_an_award_as_an_offer() -> None:
    clock = ManualClock()
    uow, bus, (first, _second, _third) = await a_selected_round(clock)
    award = award_of(uow, first)
    await bus.handle(AcceptOffer(first.application_id, award.id, clock.now))
    await bus.handle(DeclineOffer(first.application_id, award.id, clock.now))
    assert uow.offers[award.id].state is OfferState.AWAITING_RECHECK
    assert uow.allocations.by_id[award.allocation_id].status is Status.OFFERED


async def test_with_the_recheck_at_award_off_the_selected_are_allocated_at_once() -> None:
    uow, _bus, (first, second, _third) = await a_selected_round(ManualClock(), Policy(recheck_at_award=False))
    assert {e.application_id for e in uow.outbox.of_type(ResourceAllocated)} == {first.application_id,
                                                                                 second.application_id}
    assert uow.outbox.of_type(EligibilityRecheckRequested) == [] and uow.offers.by_id == {}
    assert {a.status for a in uow.allocations.by_id.values()} == {Status.ACTIVE}
