"""Handlers of an offer's life: eligibility confirmed (the offer goes out), accepted, declined, expired.

Whenever held GPUs go back (declined, expired, ineligible, withdrawn), the next in line is offered them at once. An
award (a round's selected application held for the re-check at award) is taken up as soon as evaluation confirms it;
found ineligible, its round decision says so.
"""
from __future__ import annotations

import logging
from datetime import datetime

from allocation.domain.commands import AcceptOffer, ConfirmEligibility, DeclineOffer, ExpireOffers
from allocation.domain.errors import OfferClosed
from allocation.domain.model import Allocation
from allocation.domain.offers import Offer, OfferKind, OfferState
from allocation.domain.policy import Policy
from allocation.domain.rounds import rejected_at_award
from allocation.service.placement import allocated_event, offer_freed, request_recheck
from allocation.service.unit_of_work import AllocationUnitOfWork
from contracts import OfferExpired, OfferMade
from servicekit.clock import Clock

log = logging.getLogger(__name__)


async def confirm_eligibility(cmd: ConfirmEligibility, uow: AllocationUnitOfWork, policy: Policy,
                              clock: Clock) -> Offer | None:
    offer = await uow.offers.get(cmd.offer_id, for_update=True)
    if offer is None or offer.state is not OfferState.AWAITING_RECHECK:
        log.info("eligibility confirmed for offer %s, which is %s: nothing to do", cmd.offer_id,
                 offer.state if offer else "unknown")
        return None
    hold = await _hold(offer, uow)
    if offer.kind is OfferKind.AWARD:  # the applicant applied and was selected: no answer to wait for
        offer.award(clock())
        await _take_up(offer, hold, uow)
        return offer
    offer.make(clock(), policy.offer_ttl)
    await uow.offers.save(offer)
    await uow.outbox.add(OfferMade(
        application_id=offer.application_id, offer_id=offer.id, program=offer.program,
        gpu_model=hold.gpu_model, gpus=hold.gpus, starts_at=hold.starts_at, ends_at=hold.ends_at,
        expires_at=offer.expires_at))
    return offer


async def accept_offer(cmd: AcceptOffer, uow: AllocationUnitOfWork, policy: Policy, clock: Clock) -> Offer | None:
    offer = await uow.offers.get(cmd.offer_id, for_update=True)
    if offer is None or offer.application_id != cmd.application_id:
        log.warning("acceptance of unknown offer %s ignored", cmd.offer_id)
        return None
    try:
        offer.accept(cmd.at)
    except OfferClosed as exc:
        log.info("acceptance ignored: %s", exc)
        await _too_late(offer, cmd.at, uow, policy, clock())
        return None
    await uow.waiting.remove(offer.application_id)
    await _take_up(offer, await _hold(offer, uow), uow)
    return offer


async def _take_up(offer: Offer, hold: Allocation, uow: AllocationUnitOfWork) -> None:
    """The offer was accepted or the award confirmed: the held GPUs become the application's allocation, published
    as any placement is."""
    hold.take_up()
    await uow.allocations.save(hold)
    await uow.offers.save(offer)
    await uow.outbox.add(allocated_event(hold, offer.planned_gpu_hours_per_month))


async def _too_late(offer: Offer, at: datetime, uow: AllocationUnitOfWork, policy: Policy, now: datetime) -> None:
    """An acceptance after the expiry closes the offer now; one after it was closed hears so again, so the partner's
    side never stays accepted."""
    if offer.state is OfferState.OPEN:
        await close_offer(offer, OfferState.EXPIRED, at, uow, policy, now)
    if offer.state is OfferState.EXPIRED:
        await uow.outbox.add(OfferExpired(application_id=offer.application_id, offer_id=offer.id))


async def decline_offer(cmd: DeclineOffer, uow: AllocationUnitOfWork, policy: Policy, clock: Clock) -> Offer | None:
    offer = await uow.offers.get(cmd.offer_id, for_update=True)
    if (offer is None or offer.application_id != cmd.application_id or not offer.pending
            or offer.kind is OfferKind.AWARD):  # an award is no offer to the partner: nothing to decline
        log.info("decline of offer %s ignored: %s", cmd.offer_id, offer.state if offer else "unknown")
        return None
    await close_offer(offer, OfferState.DECLINED, cmd.at, uow, policy, clock())
    return offer


async def expire_offers(cmd: ExpireOffers, uow: AllocationUnitOfWork, policy: Policy, clock: Clock) -> int:
    """Offers unanswered past their expiry plus a grace for answers still on their way (an answer counts by the
    time the partner gave it)."""
    expired = await uow.offers.expired(cmd.now - policy.offer_answer_grace)
    for offer in expired:
        await _too_late(offer, cmd.now, uow, policy, clock())
    for offer in await uow.offers.unanswered_rechecks(cmd.now - policy.recheck_timeout):
        await _ask_again(offer, cmd.now, uow, policy, clock())
    return len(expired)


async def _ask_again(offer: Offer, at: datetime, uow: AllocationUnitOfWork, policy: Policy, now: datetime) -> None:
    """Evaluation never answered the re-check (its worker down, say): the hold goes and the application keeps its
    place, so the next pass holds GPUs for it again and asks anew. The partner never saw this offer. An award keeps
    its hold and is asked again at once."""
    log.warning("re-check of offer %s unanswered since %s: asking again", offer.id, offer.requested_at)
    if offer.kind is OfferKind.AWARD:
        await _ask_again_for_award(offer, at, uow, now)
        return
    hold = await _let_go(offer, OfferState.EXPIRED, at, "re-check unanswered", uow)
    await uow.waiting.hold_for(offer.application_id, None)
    await offer_freed(hold.program, hold.gpu_model, uow, policy, now, freed_at=at)


async def _ask_again_for_award(offer: Offer, at: datetime, uow: AllocationUnitOfWork, now: datetime) -> None:
    """An award keeps its GPUs: the unanswered request is closed and a new one asked for the same hold, so an answer
    to either is not lost (a late confirmation of the first is ignored, a rejection excludes the application)."""
    offer.close(OfferState.EXPIRED, at)
    await uow.offers.save(offer)
    await request_recheck(await _hold(offer, uow), offer.planned_gpu_hours_per_month, uow, now,
                          freed_at=offer.freed_at, kind=OfferKind.AWARD)


async def close_offer(offer: Offer, state: OfferState, at: datetime, uow: AllocationUnitOfWork, policy: Policy,
                      now: datetime, *, failed: str = "") -> None:
    """The offer ends unanswered or refused: the application leaves the line, its GPUs go to the next in line. An
    award found ineligible (`failed`: the rules) is recorded on its round decision."""
    hold = await _let_go(offer, state, at, f"offer {state}", uow)
    await uow.waiting.exclude(offer.application_id, f"offer {state}", at)
    if offer.kind is OfferKind.AWARD and state is OfferState.INELIGIBLE:
        await _reject_award(offer, failed, uow)
    await offer_freed(hold.program, hold.gpu_model, uow, policy, now)


async def _reject_award(offer: Offer, failed: str, uow: AllocationUnitOfWork) -> None:
    found = await uow.rounds.decision_of(offer.application_id)
    if found is None:
        log.warning("award %s of application %s has no round decision to revise", offer.id, offer.application_id)
        return
    call_id, decision = found
    await uow.rounds.save_decision(call_id, rejected_at_award(decision, failed))
    log.info("application %s of round %s rejected at award: %s", offer.application_id, call_id, failed)


async def _let_go(offer: Offer, state: OfferState, at: datetime, reason: str,
                  uow: AllocationUnitOfWork) -> Allocation:
    """Close the offer and lapse its hold, so the GPUs are free again; returns the lapsed hold."""
    offer.close(state, at)
    hold = await _hold(offer, uow)
    hold.lapse(reason)
    await uow.allocations.save(hold)
    await uow.offers.save(offer)
    return hold


async def _hold(offer: Offer, uow: AllocationUnitOfWork) -> Allocation:
    """The allocation that holds the offer's GPUs, locked (every offer is written with its hold)."""
    hold = await uow.allocations.get(offer.allocation_id, for_update=True)
    assert hold is not None
    return hold
