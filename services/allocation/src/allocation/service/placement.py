"""Finding GPUs for a request, and offering freed capacity to the waitlist in rank order.

An offer first holds the GPUs (an `offered` allocation, under the same exclusion constraint as any other) and asks
evaluation to re-check the application's eligibility; the offer goes out when evaluation confirms. A round's award
asks the same re-check for the GPUs it holds for a selected application (`request_recheck`).
"""
from __future__ import annotations

import logging
from datetime import datetime
from uuid import uuid4

from allocation.domain import model
from allocation.domain.offers import Offer, OfferKind, OfferState
from allocation.domain.policy import Policy
from allocation.domain.rounds import choose_grant
from allocation.domain.windows import Period, offer_periods
from allocation.service.unit_of_work import AllocationUnitOfWork
from contracts import EligibilityRecheckRequested, GpuSlot, ResourceAllocated

log = logging.getLogger(__name__)
WAITLIST_SCAN = 200


async def fit(uow: AllocationUnitOfWork, policy: Policy, pool: model.ProgramCode, gpu_model: str, gpus: int,
              requested: Period, *, not_before: datetime, min_days: int | None,
              seen: dict[Period, list[list[model.Slot]]] | None = None) -> tuple[Period, list[model.Slot]] | None:
    """The best period (what is left of the request, else an idle window of at least `min_days`) with its GPUs;
    `seen` keeps the free GPUs of each period looked at (any server, not only whole ones), for a caller that
    explains a miss."""
    rules, max_servers = policy.round_rules(pool), policy.max_servers_per_grant.get(pool)

    async def fits(period: Period) -> tuple[Period, list[model.Slot]] | None:
        free = await uow.inventory.free_slots(pool, gpu_model, period, whole_only=rules.whole_servers)
        if seen is not None and not rules.whole_servers:
            seen[period] = free
        slots = choose_grant(gpus, free, whole_servers=rules.whole_servers, max_servers=max_servers)
        return None if slots is None else (period, slots)

    # what is left of the request comes first, whatever the windows: they are read only when it does not fit, and
    # matter only to a request that accepts a part of its period
    first = offer_periods(requested, not_before, min_days, [])
    if not first:
        return None
    found = await fits(first[0])
    if found is not None or not min_days:
        return found
    windows = await uow.inventory.window_spans(pool, gpu_model, requested)
    for period in offer_periods(requested, not_before, min_days, windows)[1:]:
        if (found := await fits(period)) is not None:
            return found
    return None


async def offer_freed(pool: model.ProgramCode, gpu_model: str, uow: AllocationUnitOfWork, policy: Policy,
                      now: datetime, *, freed_at: datetime | None = None) -> int:
    """Hold GPUs for each waiting application of the pool and model that now fits, in rank order, and ask for its
    re-check; returns how many offers were started. The capacity freed at `freed_at` (default: now)."""
    freed_at = min(freed_at or now, now)
    started = 0
    # holds only ever take GPUs here: a request that did not fit, no larger one of the same period will
    failed: dict[tuple[datetime, datetime, int | None], int] = {}
    for entry in await uow.waiting.waitlist(program=pool, gpu_model=gpu_model, without_offer=True,
                                            limit=WAITLIST_SCAN):
        shape = (entry.starts_at, entry.ends_at, entry.min_days)
        if entry.gpus >= failed.get(shape, entry.gpus + 1):
            continue
        found = await fit(uow, policy, pool, gpu_model, entry.gpus, (entry.starts_at, entry.ends_at),
                          not_before=now, min_days=entry.min_days)
        if found is None:
            failed[shape] = min(entry.gpus, failed.get(shape, entry.gpus))
            continue
        hold = model.allocate(uuid4(), entry.application_id, pool, gpu_model, found[0], found[1],
                              status=model.Status.OFFERED)
        await uow.allocations.add(hold)
        offer = await request_recheck(hold, entry.planned_gpu_hours_per_month, uow, now, freed_at=freed_at)
        await uow.waiting.hold_for(entry.application_id, offer.id)
        started += 1
    if started:
        log.info("%d offer(s) started for pool %s %s", started, pool, gpu_model)
    return started


async def request_recheck(hold: model.Allocation, planned_gpu_hours_per_month: int, uow: AllocationUnitOfWork,
                          now: datetime, *, freed_at: datetime, kind: OfferKind = OfferKind.WAITLIST) -> Offer:
    """Ask evaluation to re-check the eligibility of the application `hold` (stored already) holds GPUs for: the
    offer awaits the answer, which names it."""
    offer = Offer(id=uuid4(), application_id=hold.application_id, allocation_id=hold.id, program=hold.program,
                  state=OfferState.AWAITING_RECHECK, freed_at=freed_at, requested_at=now,
                  planned_gpu_hours_per_month=planned_gpu_hours_per_month, kind=kind)
    await uow.offers.add(offer)
    await uow.outbox.add(EligibilityRecheckRequested(application_id=hold.application_id, offer_id=offer.id,
                                                     program=hold.program))
    return offer


def allocated_event(allocation: model.Allocation, planned_gpu_hours_per_month: int) -> ResourceAllocated:
    return ResourceAllocated(
        application_id=allocation.application_id, allocation_id=allocation.id,
        program=allocation.program, gpu_model=allocation.gpu_model, gpus=allocation.gpus,
        starts_at=allocation.starts_at, ends_at=allocation.ends_at,
        planned_gpu_hours_per_month=planned_gpu_hours_per_month,
        slots=[GpuSlot(server_id=s.server_id, server_name=s.server_name, csp=s.csp, csp_id=s.csp_id,
                       gpu_index=s.gpu_index, gpu_uuid=s.gpu_uuid) for s in allocation.slots])
