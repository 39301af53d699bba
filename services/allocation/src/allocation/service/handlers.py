"""Allocation's handlers; the HANDLERS map at the bottom is the service's table of contents."""
from __future__ import annotations

import logging
from datetime import datetime
from uuid import uuid4

from allocation.domain import model
from allocation.domain.commands import (
    AcceptOffer,
    AddRoundCandidate,
    AllocateGpus,
    AnnounceCsps,
    ConfirmEligibility,
    DeclineOffer,
    EndWindow,
    ExcludeApplication,
    ExpireOffers,
    OpenWindow,
    ReclaimResource,
    RecordRecovery,
    RegisterCsp,
    RegisterServer,
    SeedInventory,
    SelectRound,
    SetGpuUuids,
    WaiveReclaim,
    WarnAllocation,
    WithdrawApplication,
)
from allocation.domain.errors import AllocationNotFound, InvalidInput
from allocation.domain.offers import OfferState
from allocation.domain.policy import Policy
from allocation.domain.windows import Period, min_days
from allocation.service.inventory import (
    announce_csps,
    end_window,
    open_window,
    register_csp,
    register_server,
    seed_inventory,
    set_gpu_uuids,
)
from allocation.service.offers import accept_offer, close_offer, confirm_eligibility, decline_offer, expire_offers
from allocation.service.placement import allocated_event, fit, offer_freed
from allocation.service.rounds import select_round, select_when_complete
from allocation.service.unit_of_work import AllocationUnitOfWork
from contracts import ApplicationWaitlisted, ReclaimWaived, ResourceReclaimed
from servicekit.bus import Handlers
from servicekit.clock import Clock

log = logging.getLogger(__name__)
WITHDRAWN = "withdrawn"


async def allocate_gpus(cmd: AllocateGpus, uow: AllocationUnitOfWork, policy: Policy,
                        clock: Clock) -> model.Allocation | None:
    if await uow.waiting.settled(cmd.application_id):
        log.info("application %s is placed, withdrawn or excluded already; score ignored", cmd.application_id)
        return None
    try:
        period = model.allocation_period(cmd.period_start, cmd.period_end)
    except InvalidInput as exc:  # no retry can ever place it: log it and go on rather than stop the worker
        log.error("application %s cannot be placed: %s %s", cmd.application_id, exc.field, exc)
        return None
    shortest = min_days(cmd.acceptable_window_months)
    seen: dict[Period, list[list[model.Slot]]] = {}
    found = await fit(uow, policy, cmd.program, cmd.gpu_model, cmd.gpus, period, not_before=period[0],
                      min_days=shortest, seen=seen)
    if found is None:
        await _waitlist(cmd, period, shortest, uow, clock(), seen.get(period))
        return None
    allocation = model.allocate(uuid4(), cmd.application_id, cmd.program, cmd.gpu_model, found[0], found[1])
    await uow.allocations.add(allocation)
    await uow.waiting.remove(cmd.application_id)
    await uow.outbox.add(allocated_event(allocation, cmd.planned_gpu_hours_per_month))
    return allocation


async def add_round_candidate(cmd: AddRoundCandidate, uow: AllocationUnitOfWork, policy: Policy,
                              clock: Clock) -> None:
    if await uow.waiting.excluded([cmd.application_id]):
        log.info("application %s was withdrawn or excluded; its score is not a candidate", cmd.application_id)
        # its withdrawal found no round to tell (it was no candidate yet): the round may wait for nobody else now
        await select_when_complete(cmd.call_id, uow, policy, clock())
        return
    try:
        starts_at, ends_at = model.allocation_period(cmd.period_start, cmd.period_end)
    except InvalidInput as exc:
        log.error("application %s cannot be a candidate: %s %s", cmd.application_id, exc.field, exc)
        return
    await uow.waiting.add_candidate(model.RoundCandidate(
        application_id=cmd.application_id, program=cmd.program, call_id=cmd.call_id, score=cmd.score,
        track=cmd.track, institution=cmd.institution, gpus=cmd.gpus, gpu_model=cmd.gpu_model,
        starts_at=starts_at, ends_at=ends_at, planned_gpu_hours_per_month=cmd.planned_gpu_hours_per_month,
        region_class=cmd.region_class, sector=cmd.sector, bonuses=cmd.bonuses, rubric_means=cmd.rubric_means))
    await select_when_complete(cmd.call_id, uow, policy, clock())


async def warn_allocation(cmd: WarnAllocation, uow: AllocationUnitOfWork) -> None:
    allocation = await uow.allocations.get(cmd.allocation_id, for_update=True)
    if allocation is None:
        log.warning("utilization warning for unknown allocation %s", cmd.allocation_id)
    elif allocation.warn(cmd.at):
        await uow.allocations.save(allocation)


async def record_recovery(cmd: RecordRecovery, uow: AllocationUnitOfWork) -> None:
    allocation = await uow.allocations.get(cmd.allocation_id, for_update=True)
    if allocation is None:
        log.warning("utilization recovery for unknown allocation %s", cmd.allocation_id)
    elif allocation.recover(cmd.at):
        await uow.allocations.save(allocation)


async def waive_reclaim(cmd: WaiveReclaim, uow: AllocationUnitOfWork) -> model.Allocation:
    """Recorded, and published for telemetry to re-arm its ladder and for the partner to hear of it."""
    allocation = await uow.allocations.get(cmd.allocation_id, for_update=True)
    if allocation is None:
        raise AllocationNotFound(str(cmd.allocation_id))
    allocation.waive(cmd.at)
    await uow.allocations.save(allocation)
    await uow.outbox.add(ReclaimWaived(application_id=allocation.application_id, allocation_id=allocation.id,
                                       waived_at=cmd.at))
    return allocation


async def reclaim_resource(cmd: ReclaimResource, uow: AllocationUnitOfWork, policy: Policy,
                           clock: Clock) -> model.Allocation | None:
    allocation = await uow.allocations.get(cmd.allocation_id, for_update=True)
    if allocation is None and cmd.if_active:
        log.warning("reclaim of unknown allocation %s ignored", cmd.allocation_id)
        return None
    if allocation is None:
        raise AllocationNotFound(str(cmd.allocation_id))
    if cmd.if_active and (not allocation.is_active or allocation.reclaim_waived or not allocation.warning_stands):
        log.info("reclaim of allocation %s not carried out: %s", allocation.id,
                 allocation.status if not allocation.is_active
                 else "waived by an operator" if allocation.reclaim_waived else "no warning stands (recovered)")
        return allocation
    reclaimed_at = allocation.reclaim(cmd.reason, cmd.at)
    await _give_back(allocation, cmd.reason, reclaimed_at, uow, policy, clock())
    return allocation


async def withdraw_application(cmd: WithdrawApplication, uow: AllocationUnitOfWork, policy: Policy,
                               clock: Clock) -> None:
    """Free its GPUs or its held offer, take it out of every line, and remember it so a late score is ignored."""
    call_id = await uow.waiting.call_of(cmd.application_id)
    await uow.waiting.exclude(cmd.application_id, WITHDRAWN, cmd.at)
    allocation = await uow.allocations.for_application(cmd.application_id, for_update=True)
    if allocation is not None and allocation.is_active:
        released_at = allocation.release(WITHDRAWN, cmd.at)
        await _give_back(allocation, WITHDRAWN, released_at, uow, policy, clock())
    if (offer := await uow.offers.pending_for(cmd.application_id)) is not None:
        await close_offer(offer, OfferState.WITHDRAWN, cmd.at, uow, policy, clock())
    await select_when_complete(call_id, uow, policy, clock())


async def exclude_application(cmd: ExcludeApplication, uow: AllocationUnitOfWork, policy: Policy,
                              clock: Clock) -> None:
    """Evaluation rejected it: it is no candidate, waits no more, and a held offer or award goes to the next in
    line."""
    call_id = await uow.waiting.call_of(cmd.application_id)
    await uow.waiting.exclude(cmd.application_id, f"rejected: {cmd.reason}", cmd.at)
    if (offer := await uow.offers.pending_for(cmd.application_id)) is not None:
        await close_offer(offer, OfferState.INELIGIBLE, cmd.at, uow, policy, clock(), failed=cmd.reason)
    await select_when_complete(call_id, uow, policy, clock())


async def _give_back(allocation: model.Allocation, reason: str, at: datetime, uow: AllocationUnitOfWork,
                     policy: Policy, now: datetime) -> None:
    await uow.allocations.save(allocation)
    await uow.outbox.add(ResourceReclaimed(application_id=allocation.application_id, allocation_id=allocation.id,
                                           gpus=allocation.gpus, reason=reason, reclaimed_at=at))
    await offer_freed(allocation.program, allocation.gpu_model, uow, policy, now, freed_at=at)


async def _waitlist(cmd: AllocateGpus, period: tuple[datetime, datetime], shortest: int | None,
                    uow: AllocationUnitOfWork, now: datetime, free: list[list[model.Slot]] | None = None) -> None:
    """`free`: the GPUs free for the period, if the caller has just read them."""
    if free is None:
        free = await uow.inventory.free_slots(cmd.program, cmd.gpu_model, period)
    reason = model.no_fit_reason(cmd.gpus, sum(len(s) for s in free), cmd.gpu_model, cmd.program, period)
    await uow.waiting.add_waitlisted(model.WaitlistEntry(
        application_id=cmd.application_id, program=cmd.program, score=cmd.score, gpus=cmd.gpus,
        gpu_model=cmd.gpu_model, starts_at=period[0], ends_at=period[1], reason=reason, created_at=now,
        planned_gpu_hours_per_month=cmd.planned_gpu_hours_per_month, min_days=shortest))
    await uow.outbox.add(ApplicationWaitlisted(application_id=cmd.application_id, program=cmd.program,
                                               reason=reason))


HANDLERS: Handlers = {
    RegisterCsp: register_csp,
    AnnounceCsps: announce_csps,
    RegisterServer: register_server,
    SeedInventory: seed_inventory,
    SetGpuUuids: set_gpu_uuids,
    OpenWindow: open_window,
    EndWindow: end_window,
    AllocateGpus: allocate_gpus,
    AddRoundCandidate: add_round_candidate,
    SelectRound: select_round,
    ExcludeApplication: exclude_application,
    ConfirmEligibility: confirm_eligibility,
    AcceptOffer: accept_offer,
    DeclineOffer: decline_offer,
    ExpireOffers: expire_offers,
    WarnAllocation: warn_allocation,
    RecordRecovery: record_recovery,
    WaiveReclaim: waive_reclaim,
    ReclaimResource: reclaim_resource,
    WithdrawApplication: withdraw_application,
}
