"""Allocation's handlers; the HANDLERS map at the bottom is the service's table of contents."""
from __future__ import annotations

import logging
from datetime import UTC, datetime
from uuid import uuid4

from allocation.adapters.unit_of_work import AllocationUnitOfWork
from allocation.domain import model
from allocation.domain.commands import (
    AddRoundCandidate,
    AllocateGpus,
    ReclaimResource,
    RegisterCsp,
    RegisterServer,
    SeedInventory,
    WarnAllocation,
    WithdrawApplication,
)
from allocation.domain.errors import AllocationNotFound, DuplicateName, InvalidInput
from contracts import ApplicationWaitlisted, GpuSlot, ResourceAllocated, ResourceReclaimed

log = logging.getLogger(__name__)
WITHDRAWN = "withdrawn"


async def register_csp(cmd: RegisterCsp, uow: AllocationUnitOfWork) -> model.Csp:
    csp = model.Csp(id=uuid4(), name=cmd.name)
    if not await uow.inventory.add_csp(csp):
        raise DuplicateName("name", f"a CSP named {cmd.name!r} exists already")
    return csp


async def register_server(cmd: RegisterServer, uow: AllocationUnitOfWork) -> model.Server:
    server = await _server(cmd, uow)
    if not await uow.inventory.add_server(server):
        raise DuplicateName("name", f"a server named {cmd.name!r} exists already")
    return server


async def seed_inventory(cmd: SeedInventory, uow: AllocationUnitOfWork) -> int:
    """Returns how many CSPs and servers were created; a second run creates none."""
    created = 0
    for name in cmd.csps:
        created += await uow.inventory.add_csp(model.Csp(id=uuid4(), name=name))
    for spec in cmd.servers:
        created += await uow.inventory.add_server(await _server(spec, uow))
    return created


async def allocate_gpus(cmd: AllocateGpus, uow: AllocationUnitOfWork) -> model.Allocation | None:
    if await uow.allocations.for_application(cmd.application_id) is not None:
        log.info("application %s already holds an allocation; score ignored", cmd.application_id)
        return None
    try:
        period = model.allocation_period(cmd.period_start, cmd.period_end)
    except InvalidInput as exc:  # no retry can ever place it: log it and go on rather than stop the worker
        log.error("application %s cannot be placed: %s %s", cmd.application_id, exc.field, exc)
        return None
    free = await uow.inventory.free_slots(cmd.program, cmd.gpu_model, period)
    slots = model.choose_slots(cmd.gpus, free)
    if slots is None:
        await _waitlist(cmd, period, sum(len(s) for s in free), uow)
        return None
    allocation = model.allocate(uuid4(), cmd.application_id, cmd.program, cmd.gpu_model, period, slots)
    await uow.allocations.add(allocation)
    await uow.waiting.remove(cmd.application_id)
    await uow.outbox.add(_allocated(allocation, cmd.planned_gpu_hours_per_month))
    return allocation


async def add_round_candidate(cmd: AddRoundCandidate, uow: AllocationUnitOfWork) -> None:
    try:
        starts_at, ends_at = model.allocation_period(cmd.period_start, cmd.period_end)
    except InvalidInput as exc:
        log.error("application %s cannot be a candidate: %s %s", cmd.application_id, exc.field, exc)
        return
    await uow.waiting.add_candidate(model.RoundCandidate(
        application_id=cmd.application_id, program=cmd.program, call_id=cmd.call_id, score=cmd.score,
        track=cmd.track, institution=cmd.institution, gpus=cmd.gpus, gpu_model=cmd.gpu_model,
        starts_at=starts_at, ends_at=ends_at))


async def warn_allocation(cmd: WarnAllocation, uow: AllocationUnitOfWork) -> None:
    allocation = await uow.allocations.get(cmd.allocation_id, for_update=True)
    if allocation is None:
        log.warning("utilization warning for unknown allocation %s", cmd.allocation_id)
    elif allocation.warn(cmd.at):
        await uow.allocations.save(allocation)


async def reclaim_resource(cmd: ReclaimResource, uow: AllocationUnitOfWork) -> model.Allocation | None:
    allocation = await uow.allocations.get(cmd.allocation_id, for_update=True)
    if allocation is None and cmd.if_active:
        log.warning("reclaim of unknown allocation %s ignored", cmd.allocation_id)
        return None
    if allocation is None:
        raise AllocationNotFound(str(cmd.allocation_id))
    if cmd.if_active and not allocation.is_active:
        return allocation
    reclaimed_at = allocation.reclaim(cmd.reason, cmd.at)
    await _give_back(allocation, cmd.reason, reclaimed_at, uow)
    return allocation


async def withdraw_application(cmd: WithdrawApplication, uow: AllocationUnitOfWork) -> None:
    allocation = await uow.allocations.for_application(cmd.application_id, for_update=True)
    if allocation is not None and allocation.is_active:
        released_at = allocation.release(WITHDRAWN, cmd.at)
        await _give_back(allocation, WITHDRAWN, released_at, uow)
    await uow.waiting.remove(cmd.application_id)


async def _give_back(allocation: model.Allocation, reason: str, at: datetime, uow: AllocationUnitOfWork) -> None:
    await uow.allocations.save(allocation)
    await uow.outbox.add(ResourceReclaimed(application_id=allocation.application_id, allocation_id=allocation.id,
                                           gpus=allocation.gpus, reason=reason, reclaimed_at=at))  # type: ignore[arg-type]


def _allocated(allocation: model.Allocation, planned_gpu_hours_per_month: int) -> ResourceAllocated:
    return ResourceAllocated(
        application_id=allocation.application_id, allocation_id=allocation.id,
        program=allocation.program, gpu_model=allocation.gpu_model, gpus=allocation.gpus,  # type: ignore[arg-type]
        starts_at=allocation.starts_at, ends_at=allocation.ends_at,
        planned_gpu_hours_per_month=planned_gpu_hours_per_month,
        slots=[GpuSlot(server_id=s.server_id, server_name=s.server_name, csp=s.csp, gpu_index=s.gpu_index)
               for s in allocation.slots])


async def _waitlist(cmd: AllocateGpus, period: tuple[datetime, datetime], free_gpus: int,
                    uow: AllocationUnitOfWork) -> None:
    reason = model.no_fit_reason(cmd.gpus, free_gpus, cmd.gpu_model, cmd.program, period)
    await uow.waiting.add_waitlisted(model.WaitlistEntry(
        application_id=cmd.application_id, program=cmd.program, score=cmd.score, gpus=cmd.gpus,
        gpu_model=cmd.gpu_model, starts_at=period[0], ends_at=period[1], reason=reason,
        created_at=datetime.now(UTC)))
    await uow.outbox.add(ApplicationWaitlisted(application_id=cmd.application_id, program=cmd.program,
                                               reason=reason))  # type: ignore[arg-type]


async def _server(spec: RegisterServer, uow: AllocationUnitOfWork) -> model.Server:
    owner = await uow.inventory.csp_named(spec.csp)
    if owner is None:
        raise InvalidInput("csp", f"no CSP named {spec.csp!r}")
    return model.Server(id=uuid4(), csp_id=owner.id, csp=owner.name, name=spec.name, region=spec.region,
                        gpu_model=spec.gpu_model, gpus=spec.gpus, pool=spec.pool)


HANDLERS = {
    RegisterCsp: register_csp,
    RegisterServer: register_server,
    SeedInventory: seed_inventory,
    AllocateGpus: allocate_gpus,
    AddRoundCandidate: add_round_candidate,
    WarnAllocation: warn_allocation,
    ReclaimResource: reclaim_resource,
    WithdrawApplication: withdraw_application,
}
