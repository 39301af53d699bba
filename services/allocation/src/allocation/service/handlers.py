"""Allocation's handlers; the HANDLERS map at the bottom is the service's table of contents."""
from __future__ import annotations

import logging
from datetime import UTC, datetime
from uuid import uuid4

from allocation.adapters.unit_of_work import AllocationUnitOfWork
from allocation.domain import model
from allocation.domain.commands import (
    AcceptOffer,
    AddRoundCandidate,
    AllocateGpus,
    ConfirmEligibility,
    DeclineOffer,
    EndWindow,
    ExcludeApplication,
    ExpireOffers,
    OpenWindow,
    ReclaimResource,
    RegisterCsp,
    RegisterServer,
    SeedInventory,
    SelectRound,
    WaiveReclaim,
    WarnAllocation,
    WithdrawApplication,
)
from allocation.domain.errors import AllocationNotFound, DuplicateName, InvalidInput, NotFound, Overlap
from allocation.domain.offers import OfferState
from allocation.domain.policy import Policy
from allocation.domain.windows import Window, min_days, window_bounds
from allocation.service.offers import accept_offer, close_offer, confirm_eligibility, decline_offer, expire_offers
from allocation.service.placement import allocated_event, fit, offer_freed
from allocation.service.rounds import select_round, select_when_complete
from contracts import ApplicationWaitlisted, ResourceReclaimed

log = logging.getLogger(__name__)
WITHDRAWN = "withdrawn"


async def register_csp(cmd: RegisterCsp, uow: AllocationUnitOfWork) -> model.Csp:
    csp = model.Csp(id=uuid4(), name=cmd.name)
    if not await uow.inventory.add_csp(csp):
        raise DuplicateName("name", f"a CSP named {cmd.name!r} exists already")
    return csp


async def register_server(cmd: RegisterServer, uow: AllocationUnitOfWork, policy: Policy) -> model.Server:
    """A new server is new capacity: its pool's waitlist is offered it at once."""
    server = await _server(cmd, uow)
    if not await uow.inventory.add_server(server):
        raise DuplicateName("name", f"a server named {cmd.name!r} exists already")
    await _first_window(server, cmd, uow)
    await offer_freed(server.pool, server.gpu_model, datetime.now(UTC), uow, policy)
    return server


async def seed_inventory(cmd: SeedInventory, uow: AllocationUnitOfWork) -> int:
    """Returns how many CSPs and servers were created; a second run creates none."""
    created = 0
    for name in cmd.csps:
        created += await uow.inventory.add_csp(model.Csp(id=uuid4(), name=name))
    for spec in cmd.servers:
        server = await _server(spec, uow)
        if await uow.inventory.add_server(server):
            await _first_window(server, spec, uow)
            created += 1
    return created


async def open_window(cmd: OpenWindow, uow: AllocationUnitOfWork, policy: Policy) -> Window:
    """The server serves `pool` for a while (an idle window): the pool's waitlist is offered it at once."""
    server = await uow.inventory.server(cmd.server_id)
    if server is None:
        raise NotFound(f"no server {cmd.server_id}")
    starts_at, ends_at = window_bounds(cmd.starts_on, cmd.ends_on)
    window = Window(id=uuid4(), server_id=server.id, pool=cmd.pool, starts_at=starts_at, ends_at=ends_at,
                    note=cmd.note)
    if clash := await uow.inventory.windows(server_id=server.id, overlapping=(starts_at, ends_at)):
        raise Overlap("starts_on", f"{server.name} already serves {clash[0].pool} in part of that time")
    await uow.inventory.add_window(window)
    await offer_freed(cmd.pool, server.gpu_model, datetime.now(UTC), uow, policy)
    return window


async def end_window(cmd: EndWindow, uow: AllocationUnitOfWork, policy: Policy) -> Window:
    window, server = await uow.inventory.window(cmd.window_id), await uow.inventory.server(cmd.server_id)
    if window is None or server is None or window.server_id != server.id:
        raise NotFound(f"no window {cmd.window_id} of server {cmd.server_id}")
    moved = window.ending(window_bounds(None, cmd.ends_on)[1])
    if (cut := window.cut_by(moved)) and (held := await uow.inventory.holders(server.id, cut)):
        raise Overlap("ends_on", f"{len(held)} allocation(s) hold GPUs of {server.name} after the new end, "
                                 f"e.g. {held[0]}: reclaim or wait for them first")
    if added := moved.cut_by(window):
        if clash := [w for w in await uow.inventory.windows(server_id=server.id, overlapping=added)
                     if w.id != window.id]:
            raise Overlap("ends_on", f"{server.name} serves {clash[0].pool} in part of that time")
    await uow.inventory.set_window_end(moved)
    if added:
        await offer_freed(moved.pool, server.gpu_model, datetime.now(UTC), uow, policy)
    return moved


async def allocate_gpus(cmd: AllocateGpus, uow: AllocationUnitOfWork, policy: Policy) -> model.Allocation | None:
    if (await uow.allocations.for_application(cmd.application_id) is not None
            or await uow.waiting.excluded([cmd.application_id])):
        log.info("application %s is placed, withdrawn or excluded already; score ignored", cmd.application_id)
        return None
    try:
        period = model.allocation_period(cmd.period_start, cmd.period_end)
    except InvalidInput as exc:  # no retry can ever place it: log it and go on rather than stop the worker
        log.error("application %s cannot be placed: %s %s", cmd.application_id, exc.field, exc)
        return None
    shortest = min_days(cmd.acceptable_window_months)
    found = await fit(uow, policy, cmd.program, cmd.gpu_model, cmd.gpus, period, not_before=period[0],
                      min_days=shortest)
    if found is None:
        await _waitlist(cmd, period, shortest, uow)
        return None
    allocation = model.allocate(uuid4(), cmd.application_id, cmd.program, cmd.gpu_model, found[0], found[1])
    await uow.allocations.add(allocation)
    await uow.waiting.remove(cmd.application_id)
    await uow.outbox.add(allocated_event(allocation, cmd.planned_gpu_hours_per_month))
    return allocation


async def add_round_candidate(cmd: AddRoundCandidate, uow: AllocationUnitOfWork, policy: Policy) -> None:
    if await uow.waiting.excluded([cmd.application_id]):
        log.info("application %s was withdrawn or excluded; its score is not a candidate", cmd.application_id)
        return
    try:
        starts_at, ends_at = model.allocation_period(cmd.period_start, cmd.period_end)
    except InvalidInput as exc:
        log.error("application %s cannot be a candidate: %s %s", cmd.application_id, exc.field, exc)
        return
    await uow.waiting.add_candidate(model.RoundCandidate(
        application_id=cmd.application_id, program=cmd.program, call_id=cmd.call_id, score=cmd.score,
        track=cmd.track, institution=cmd.institution, gpus=cmd.gpus, gpu_model=cmd.gpu_model,
        starts_at=starts_at, ends_at=ends_at, planned_gpu_hours_per_month=cmd.planned_gpu_hours_per_month))
    await select_when_complete(cmd.call_id, uow, policy)


async def warn_allocation(cmd: WarnAllocation, uow: AllocationUnitOfWork) -> None:
    allocation = await uow.allocations.get(cmd.allocation_id, for_update=True)
    if allocation is None:
        log.warning("utilization warning for unknown allocation %s", cmd.allocation_id)
    elif allocation.warn(cmd.at):
        await uow.allocations.save(allocation)


async def waive_reclaim(cmd: WaiveReclaim, uow: AllocationUnitOfWork) -> model.Allocation:
    allocation = await uow.allocations.get(cmd.allocation_id, for_update=True)
    if allocation is None:
        raise AllocationNotFound(str(cmd.allocation_id))
    allocation.waive(cmd.at)
    await uow.allocations.save(allocation)
    return allocation


async def reclaim_resource(cmd: ReclaimResource, uow: AllocationUnitOfWork,
                           policy: Policy) -> model.Allocation | None:
    allocation = await uow.allocations.get(cmd.allocation_id, for_update=True)
    if allocation is None and cmd.if_active:
        log.warning("reclaim of unknown allocation %s ignored", cmd.allocation_id)
        return None
    if allocation is None:
        raise AllocationNotFound(str(cmd.allocation_id))
    if cmd.if_active and (not allocation.is_active or allocation.reclaim_waived):
        log.info("reclaim of allocation %s not carried out: %s", allocation.id,
                 "waived by an operator" if allocation.is_active else allocation.status)
        return allocation
    reclaimed_at = allocation.reclaim(cmd.reason, cmd.at)
    await _give_back(allocation, cmd.reason, reclaimed_at, uow, policy)
    return allocation


async def withdraw_application(cmd: WithdrawApplication, uow: AllocationUnitOfWork, policy: Policy) -> None:
    """Free its GPUs or its held offer, take it out of every line, and remember it so a late score is ignored."""
    call_id = await uow.waiting.call_of(cmd.application_id)
    await uow.waiting.exclude(cmd.application_id, WITHDRAWN, cmd.at)
    allocation = await uow.allocations.for_application(cmd.application_id, for_update=True)
    if allocation is not None and allocation.is_active:
        await _give_back(allocation, WITHDRAWN, allocation.release(WITHDRAWN, cmd.at), uow, policy)
    if (offer := await uow.offers.pending_for(cmd.application_id)) is not None:
        await close_offer(offer, OfferState.WITHDRAWN, cmd.at, uow, policy)
    await select_when_complete(call_id, uow, policy)


async def exclude_application(cmd: ExcludeApplication, uow: AllocationUnitOfWork, policy: Policy) -> None:
    """Evaluation rejected it: it is no candidate, waits no more, and a held offer goes to the next in line."""
    call_id = await uow.waiting.call_of(cmd.application_id)
    await uow.waiting.exclude(cmd.application_id, f"rejected: {cmd.reason}", cmd.at)
    if (offer := await uow.offers.pending_for(cmd.application_id)) is not None:
        await close_offer(offer, OfferState.INELIGIBLE, cmd.at, uow, policy)
    await select_when_complete(call_id, uow, policy)


async def _give_back(allocation: model.Allocation, reason: str, at: datetime, uow: AllocationUnitOfWork,
                     policy: Policy) -> None:
    await uow.allocations.save(allocation)
    await uow.outbox.add(ResourceReclaimed(application_id=allocation.application_id, allocation_id=allocation.id,
                                           gpus=allocation.gpus, reason=reason, reclaimed_at=at))  # type: ignore[arg-type]
    await offer_freed(allocation.program, allocation.gpu_model, min(at, datetime.now(UTC)), uow, policy)


async def _waitlist(cmd: AllocateGpus, period: tuple[datetime, datetime], shortest: int | None,
                    uow: AllocationUnitOfWork) -> None:
    free = await uow.inventory.free_slots(cmd.program, cmd.gpu_model, period)
    reason = model.no_fit_reason(cmd.gpus, sum(len(s) for s in free), cmd.gpu_model, cmd.program, period)
    await uow.waiting.add_waitlisted(model.WaitlistEntry(
        application_id=cmd.application_id, program=cmd.program, score=cmd.score, gpus=cmd.gpus,
        gpu_model=cmd.gpu_model, starts_at=period[0], ends_at=period[1], reason=reason,
        created_at=datetime.now(UTC), planned_gpu_hours_per_month=cmd.planned_gpu_hours_per_month,
        min_days=shortest))
    await uow.outbox.add(ApplicationWaitlisted(application_id=cmd.application_id, program=cmd.program,
                                               reason=reason))  # type: ignore[arg-type]


async def _server(spec: RegisterServer, uow: AllocationUnitOfWork) -> model.Server:
    owner = await uow.inventory.csp_named(spec.csp)
    if owner is None:
        raise InvalidInput("csp", f"no CSP named {spec.csp!r}")
    return model.Server(id=uuid4(), csp_id=owner.id, csp=owner.name, name=spec.name, region=spec.region,
                        gpu_model=spec.gpu_model, gpus=spec.gpus, pool=spec.pool)


async def _first_window(server: model.Server, spec: RegisterServer, uow: AllocationUnitOfWork) -> None:
    starts_at, ends_at = window_bounds(spec.available_from, spec.available_until)
    await uow.inventory.add_window(Window(id=uuid4(), server_id=server.id, pool=server.pool, starts_at=starts_at,
                                          ends_at=ends_at, note="registered"))


HANDLERS = {
    RegisterCsp: register_csp,
    RegisterServer: register_server,
    SeedInventory: seed_inventory,
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
    WaiveReclaim: waive_reclaim,
    ReclaimResource: reclaim_resource,
    WithdrawApplication: withdraw_application,
}
