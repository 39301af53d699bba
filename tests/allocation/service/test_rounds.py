"""P1/P2 rounds on the in-memory fakes: candidates, selection once the round is complete, placement, waitlist.

The selected are allocated once evaluation confirms the re-check at award (`confirm_awards`; test_awards.py covers
the re-check itself)."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from uuid import UUID, uuid4

import pytest

from allocation.domain.commands import AddRoundCandidate, ExcludeApplication, SelectRound, WithdrawApplication
from allocation.domain.model import PROGRAM_ZONE, ProgramCode
from contracts import ApplicationWaitlisted, ResourceAllocated, RoundSelected
from support.clock import ManualClock

from .fakes import confirm_awards, seeded, servers

MAR_1 = datetime(2027, 3, 1, tzinfo=PROGRAM_ZONE)  # days start in Korea


def candidate(call_id: UUID, score: float, institution: str, gpus: int = 8, track: str = "general",
              program: ProgramCode = "P2", period_start: date = date(2027, 3, 1)) -> AddRoundCandidate:
    return AddRoundCandidate(
        application_id=uuid4(), program=program, call_id=call_id, score=score, track=track, institution=institution,
        gpus=gpus, gpu_model="H200" if program == "P2" else "H100", period_start=period_start,
        period_end=date(2027, 8, 31), planned_gpu_hours_per_month=3000)


def end_of(call_id: UUID, *line: AddRoundCandidate, program: ProgramCode = "P2") -> SelectRound:
    return SelectRound(call_id, program, tuple(c.application_id for c in line), (), MAR_1)


async def test_a_candidate_is_recorded_without_an_event_until_its_round_ends() -> None:
    uow, bus = await seeded(ManualClock(), *servers("P2", 2, gpu_model="H200"))
    call = uuid4()
    only = candidate(call, 77.0, "KAIST", track="early_career")
    await bus.handle(only)
    stored = uow.waiting.candidates_by_id[only.application_id]
    assert (stored.program, stored.call_id, stored.track, stored.starts_at) == ("P2", call, "early_career", MAR_1)
    assert uow.published == [] and uow.rounds.by_call == {}


async def test_a_withdrawn_or_unplaceable_application_is_no_candidate() -> None:
    uow, bus = await seeded(ManualClock(), *servers("P2", 2, gpu_model="H200"))
    withdrawn = candidate(uuid4(), 90, "SNU")
    backwards = candidate(uuid4(), 90, "SNU", period_start=date(2027, 9, 1))
    await bus.handle(WithdrawApplication(withdrawn.application_id, MAR_1))
    await bus.handle(withdrawn)
    await bus.handle(backwards)
    assert uow.waiting.candidates_by_id == {}


async def test_the_round_is_selected_once_the_last_score_arrives_whichever_comes_first() -> None:
    clock = ManualClock()
    uow, bus = await seeded(clock, *servers("P2", 2, gpu_model="H200"))
    call = uuid4()
    first, last = candidate(call, 90, "KAIST"), candidate(call, 80, "SNU")
    await bus.handle(first)
    await bus.handle(end_of(call, first, last))
    assert uow.rounds[call].status == "pending" and uow.outbox.of_type(RoundSelected) == []
    await bus.handle(last)
    assert await confirm_awards(uow, bus, clock) == 2
    selected = uow.rounds[call]
    assert (selected.status, selected.selected_at, selected.capacity) == ("selected", clock.now, {"H200": 16})
    assert {e.application_id for e in uow.outbox.of_type(ResourceAllocated)} == {first.application_id,
                                                                                 last.application_id}
    assert uow.waiting.candidates_by_id == {}


async def test_a_p2_round_reserves_early_career_first_and_waitlists_the_rest_in_rank_order_with_reasons() -> None:
    """32 GPUs: the reserve is 8 (30% rounded down to servers). The low-scoring early-career researcher gets a
    server first; the best two general applicants the rest; the last two wait, for capacity."""
    clock = ManualClock()
    uow, bus = await seeded(clock, *servers("P2", 4, gpu_model="H200"))
    call = uuid4()
    general = [candidate(call, 95 - 5 * i, f"Institute {i}") for i in range(5)]
    early = candidate(call, 40, "KNU", track="early_career")
    await bus.handle(end_of(call, *general, early))
    for c in [*general, early]:
        await bus.handle(c)
    await confirm_awards(uow, bus, clock)
    decisions = {d.application_id: d for d in uow.rounds.decisions[call]}
    assert decisions[early.application_id].basis == "reserve"
    assert [decisions[c.application_id].selected for c in general] == [True, True, True, False, False]
    waitlisted = uow.outbox.of_type(ApplicationWaitlisted)
    assert [(w.application_id, w.rank, w.call_id) for w in waitlisted] == [
        (general[3].application_id, 1, call), (general[4].application_id, 2, call)]
    assert all(w.reason.startswith("capacity") for w in waitlisted)
    assert [e.rank for e in await uow.waiting.waitlist(program="P2")] == [1, 2]
    (summary,) = uow.outbox.of_type(RoundSelected)
    assert (summary.selected, summary.waitlisted, summary.reserve_gpus, summary.reserve_gpus_used,
            summary.gpus_awarded, summary.method) == (4, 2, 8, 8, 32, "exact")
    servers_used = Counter(s.server_name for e in uow.outbox.of_type(ResourceAllocated) for s in e.slots)
    assert set(servers_used.values()) == {8}                   # every server whole, none shared


async def test_a_repeated_end_of_round_selects_once() -> None:
    uow, bus = await seeded(ManualClock(), *servers("P2", 2, gpu_model="H200"))
    call = uuid4()
    only = candidate(call, 90, "KAIST")
    await bus.handle(only)
    for _ in range(2):
        await bus.handle(end_of(call, only))
    assert len(uow.outbox.of_type(RoundSelected)) == 1
    assert len(uow.allocations.by_id) == 1


async def test_the_round_forgets_the_withdrawn_and_the_rejected() -> None:
    clock = ManualClock()
    uow, bus = await seeded(clock, *servers("P2", 4, gpu_model="H200"))
    call = uuid4()
    first, withdrawn, rejected, last = (candidate(call, s, f"Institute {s}") for s in (90, 80, 70, 60))
    await bus.handle(first)
    await bus.handle(end_of(call, first, withdrawn, rejected, last))
    await bus.handle(WithdrawApplication(withdrawn.application_id, MAR_1))
    await bus.handle(ExcludeApplication(rejected.application_id, "company_size: no longer small", MAR_1))
    assert uow.rounds[call].status == "pending"
    await bus.handle(last)
    await bus.handle(withdrawn)                                # a score arriving after the withdrawal is ignored
    assert uow.rounds[call].status == "selected"
    await confirm_awards(uow, bus, clock)
    placed = {e.application_id for e in uow.outbox.of_type(ResourceAllocated)}
    assert placed == {first.application_id, last.application_id}


@pytest.mark.parametrize("leaves", ["withdrawn", "rejected"])
async def test_a_round_whose_last_missing_application_leaves_before_its_score_is_selected_at_once(leaves: str) -> None:
    clock = ManualClock()
    uow, bus = await seeded(clock, *servers("P2", 4, gpu_model="H200"))
    call = uuid4()
    first, missing = (candidate(call, s, f"Institute {s}") for s in (90, 80))
    await bus.handle(end_of(call, first, missing))
    await bus.handle(first)
    assert uow.rounds[call].status == "pending"
    await bus.handle(WithdrawApplication(missing.application_id, MAR_1) if leaves == "withdrawn"
                     else ExcludeApplication(missing.application_id, "company_size: no longer small", MAR_1))
    assert uow.rounds[call].status == "selected"     # no candidate yet, but the round expected it
    await bus.handle(missing)                          # its score, come late: changes nothing
    assert await confirm_awards(uow, bus, clock) == 1
    assert {e.application_id for e in uow.outbox.of_type(ResourceAllocated)} == {first.application_id}
    assert len(uow.outbox.of_type(RoundSelected)) == 1


async def test_a_selected_grant_no_server_can_hold_waits_first_in_line_for_placement() -> None:
    """P1: 12 GPUs on servers of 4 would take three servers, two at most are allowed: selected, then unplaceable."""
    uow, bus = await seeded(ManualClock(), *servers("P1", 4, gpus=4))
    call = uuid4()
    big, small = (candidate(call, s, f"Company {s}", gpus=g, program="P1") for s, g in ((90, 12), (80, 4)))
    await bus.handle(end_of(call, big, small, program="P1"))
    await bus.handle(big)
    await bus.handle(small)
    decisions = {d.application_id: d for d in uow.rounds.decisions[call]}
    assert (decisions[big.application_id].selected, decisions[big.application_id].basis) == (False, "placement")
    assert "could hold the grant" in decisions[big.application_id].reason
    assert decisions[small.application_id].allocation_id is not None
    (waiting,) = await uow.waiting.waitlist(program="P1")
    assert (waiting.application_id, waiting.rank) == (big.application_id, 1)
    assert uow.outbox.of_type(RoundSelected)[0].selected == 1
