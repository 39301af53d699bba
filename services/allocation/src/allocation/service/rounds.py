"""Selecting a closed P1/P2 round: choose (exact MILP or greedy), place on concrete GPUs, waitlist the rest.

With the re-check at award (the policy's `recheck_at_award`), the placed GPUs are held and evaluation asked first;
service/offers.py allocates them once it confirms.

The round's end (`RoundScored`) and its scores arrive on different topics; whichever comes last triggers selection.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import datetime
from uuid import UUID, uuid4

from allocation.domain import model, rounds, selection, whatif
from allocation.domain.commands import SelectRound
from allocation.domain.offers import OfferKind
from allocation.domain.policy import Policy
from allocation.service.placement import allocated_event, request_recheck
from allocation.service.unit_of_work import AllocationUnitOfWork
from contracts import ApplicationWaitlisted, RoundSelected
from servicekit.clock import Clock

log = logging.getLogger(__name__)
PLACEMENT = "placement"


async def select_round(cmd: SelectRound, uow: AllocationUnitOfWork, policy: Policy,
                       clock: Clock) -> rounds.Round | None:
    known = rounds.Round(call_id=cmd.call_id, program=cmd.program, expected=frozenset(cmd.scored),
                         status="pending", scored_at=cmd.at)
    if not await uow.rounds.add(known):
        log.info("round %s is known already", cmd.call_id)
    return await select_when_complete(cmd.call_id, uow, policy, clock())


async def select_when_complete(call_id: UUID | None, uow: AllocationUnitOfWork, policy: Policy,
                               now: datetime) -> rounds.Round | None:
    """Select the round once every application it expects is a candidate or gone (withdrawn, excluded)."""
    if call_id is None or not await uow.rounds.lock_pending(call_id):
        return None
    if (missing := await uow.waiting.first_missing(call_id)) is not None:
        log.debug("round %s waits for the score of %s, at least", call_id, missing)
        return None
    found = await uow.rounds.get(call_id)
    assert found is not None
    candidates = [c for c in await uow.waiting.candidates(call_id=found.call_id)
                  if c.application_id in found.expected]
    await _select(found, candidates, uow, policy, now)
    return found


async def _select(found: rounds.Round, candidates: list[model.RoundCandidate], uow: AllocationUnitOfWork,
                  policy: Policy, now: datetime) -> None:
    rules = policy.round_rules(found.program)
    free: dict[str, list[list[model.Slot]]] = {}
    if candidates:
        period = rounds.span(candidates)
        for gpu_model in sorted({c.gpu_model for c in candidates}):
            free[gpu_model] = await uow.inventory.free_slots(found.program, gpu_model, period,
                                                             whole_only=rules.whole_servers)
    capacity = {m: sum(len(s) for s in slots) for m, slots in free.items()}
    ordered = sorted(candidates, key=lambda c: str(c.application_id))
    await uow.rounds.add_input(whatif.kept(found.call_id, rules, capacity, ordered, now))  # for the what-if
    chosen = await asyncio.to_thread(
        selection.select_round, [rounds.to_candidate(c, i) for i, c in enumerate(ordered)], capacity, rules,
        exact_limit=policy.exact_limit, time_limit_s=policy.time_limit_s)
    by_id = {c.application_id: c for c in candidates}
    placed = await _place(found, chosen, by_id, free, uow, policy, now)
    await _record(found, chosen, by_id, placed, capacity, now, uow)


async def _place(found: rounds.Round, chosen: selection.Selection, by_id: dict[UUID, model.RoundCandidate],
                 free: dict[str, list[list[model.Slot]]], uow: AllocationUnitOfWork, policy: Policy,
                 now: datetime) -> dict[UUID, model.Allocation]:
    """Concrete GPUs for the selected: allocated and published at once, or, with the re-check at award, held (an
    `offered` allocation) while evaluation re-checks each application."""
    groups: dict[str, list[model.RoundCandidate]] = defaultdict(list)
    for d in chosen.selected:
        groups[by_id[d.application_id].gpu_model].append(by_id[d.application_id])
    status = model.Status.OFFERED if policy.recheck_at_award else model.Status.ACTIVE
    made: dict[UUID, model.Allocation] = {}
    for gpu_model, group in groups.items():
        slots, _ = rounds.place(group, free[gpu_model], whole_servers=policy.round_rules(found.program).whole_servers,
                                max_servers=policy.max_servers_per_grant.get(found.program))
        for application_id, grant in slots.items():
            c = by_id[application_id]
            made[application_id] = model.allocate(uuid4(), application_id, found.program, gpu_model,
                                                  (c.starts_at, c.ends_at), grant, status=status)
    await uow.allocations.add(*made.values())
    for allocation in made.values():
        await _award(allocation, by_id[allocation.application_id].planned_gpu_hours_per_month, uow, policy, now)
    return made


async def _award(allocation: model.Allocation, planned_gpu_hours_per_month: int, uow: AllocationUnitOfWork,
                 policy: Policy, now: datetime) -> None:
    """Publish the grant, or ask for the re-check at award: the answer names the award's offer (kind `award`)."""
    if policy.recheck_at_award:
        await request_recheck(allocation, planned_gpu_hours_per_month, uow, now, freed_at=now, kind=OfferKind.AWARD)
    else:
        await uow.outbox.add(allocated_event(allocation, planned_gpu_hours_per_month))


async def _record(found: rounds.Round, chosen: selection.Selection, by_id: dict[UUID, model.RoundCandidate],
                  placed: dict[UUID, model.Allocation], capacity: dict[str, int], now: datetime,
                  uow: AllocationUnitOfWork) -> None:
    """Decisions with their reasons, the waitlist in rank order (the unplaceable selected first), the summary."""
    unplaced = [d for d in chosen.selected if d.application_id not in placed]
    waiting = [*unplaced, *chosen.waitlisted]
    rows = [_decision(d, by_id[d.application_id], placed.get(d.application_id)) for d in chosen.decisions]
    reasons = {r.application_id: r.reason for r in rows}
    entries = []
    for rank, d in enumerate(waiting, start=1):
        c = by_id[d.application_id]
        entries.append(model.WaitlistEntry(
            application_id=c.application_id, program=c.program, score=c.score, gpus=c.gpus, gpu_model=c.gpu_model,
            starts_at=c.starts_at, ends_at=c.ends_at, reason=reasons[c.application_id], created_at=now,
            planned_gpu_hours_per_month=c.planned_gpu_hours_per_month, call_id=found.call_id, rank=rank,
            track=c.track, institution=c.institution))
        await uow.outbox.add(ApplicationWaitlisted(application_id=c.application_id, program=c.program,
                                                   reason=reasons[c.application_id], call_id=found.call_id, rank=rank))
    await uow.waiting.remove(*by_id)
    await uow.waiting.add_waitlisted(*entries)
    await uow.rounds.add_decisions(found.call_id, rows)
    objective = sum(by_id[a].score * placed[a].gpus for a in placed)
    await _close(found, chosen, placed, (capacity, objective), len(entries), now, uow)


def _decision(d: selection.Decision, c: model.RoundCandidate,
              allocation: model.Allocation | None) -> rounds.RoundDecision:
    """A selected application no server could hold is waitlisted after all, for placement."""
    basis, reason = (d.basis, d.reason) if allocation or not d.selected else (
        PLACEMENT, f"selected ({d.reason}) but no {c.gpu_model} servers could hold the grant")
    return rounds.RoundDecision(application_id=c.application_id, selected=allocation is not None, rank=d.rank,
                                basis=basis, reason=reason, score=c.score, gpus=c.gpus,
                                allocation_id=allocation.id if allocation else None)


async def _close(found: rounds.Round, chosen: selection.Selection, placed: dict[UUID, model.Allocation],
                 outcome: tuple[dict[str, int], float], waitlisted: int, now: datetime,
                 uow: AllocationUnitOfWork) -> None:
    found.status, found.selected_at, found.method = "selected", now, chosen.method
    found.capacity, found.objective = outcome
    found.solve_seconds = chosen.solve_seconds
    found.reserve_gpus, found.reserve_gpus_used = chosen.reserve_gpus, chosen.reserve_gpus_used
    await uow.rounds.save(found)
    await uow.outbox.add(RoundSelected(
        call_id=found.call_id, program=found.program, selected=len(placed), waitlisted=waitlisted,
        gpus_awarded=sum(a.gpus for a in placed.values()), reserve_gpus=found.reserve_gpus,
        reserve_gpus_used=found.reserve_gpus_used, method=chosen.method, objective=found.objective))
    log.info("round %s selected: %d placed, %d waitlisted (%s, %.2fs)", found.call_id, len(placed), waitlisted,
             chosen.method, chosen.solve_seconds)
