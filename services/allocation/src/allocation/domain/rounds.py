"""A P1/P2 round between its scores and its selection, and the placement of what the selection chose.

A round is selected once every application its call listed has been scored, rejected, withdrawn or excluded: the
scores travel on another topic than the round's end, so either may arrive first.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal
from uuid import UUID

from allocation.domain.model import ProgramCode, RoundCandidate, Slot, choose_slots
from allocation.domain.selection import Candidate

Period = tuple[datetime, datetime]


@dataclass
class Round:
    call_id: UUID
    program: ProgramCode
    expected: frozenset[UUID]
    status: Literal["pending", "selected"]
    scored_at: datetime
    selected_at: datetime | None = None
    method: str | None = None
    objective: float | None = None
    capacity: dict[str, int] = field(default_factory=dict)
    reserve_gpus: int = 0
    reserve_gpus_used: int = 0
    solve_seconds: float | None = None


@dataclass(frozen=True)
class RoundDecision:
    """One application's outcome in its round, as operators read it: selected (with its allocation) or waitlisted,
    its rank, the basis and the reason in words."""

    application_id: UUID
    selected: bool
    rank: int
    basis: str
    reason: str
    score: float
    gpus: int
    allocation_id: UUID | None


def span(candidates: Sequence[RoundCandidate]) -> Period:
    """From the earliest start to the latest end: capacity is counted over the whole of it, so that every grant
    fits whatever its own period."""
    return min(c.starts_at for c in candidates), max(c.ends_at for c in candidates)


def to_candidate(c: RoundCandidate, order: int) -> Candidate:
    return Candidate(application_id=c.application_id, score=c.score, track=c.track, institution=c.institution,
                     gpu_model=c.gpu_model, gpus=c.gpus, submitted_order=order)


def place(chosen: Sequence[RoundCandidate], free: list[list[Slot]], *, whole_servers: bool,
          max_servers: int | None) -> tuple[dict[UUID, list[Slot]], list[UUID]]:
    """Concrete GPUs for each chosen application of one GPU model, from `free` (per server); returns the placements
    and the applications that could not be placed.

    Whole-server grants take fully free servers in name order. GPU grants go largest first (first-fit decreasing),
    each onto the fullest server that fits (`choose_slots`), so whole servers stay free; a grant spread over more
    than `max_servers` servers is refused.
    """
    remaining = {slots[0].server_id: sorted(slots) for slots in free if slots}
    placed: dict[UUID, list[Slot]] = {}
    unplaced: list[UUID] = []
    order = chosen if whole_servers else sorted(chosen, key=lambda c: -c.gpus)
    for c in order:
        slots = choose_grant(c.gpus, list(remaining.values()), whole_servers=whole_servers, max_servers=max_servers)
        if slots is None:
            unplaced.append(c.application_id)
            continue
        placed[c.application_id] = slots
        used = set(slots)
        for server_id in {s.server_id for s in slots}:
            remaining[server_id] = [s for s in remaining[server_id] if s not in used]
    return placed, unplaced


def choose_grant(gpus: int, free: list[list[Slot]], *, whole_servers: bool,
                 max_servers: int | None) -> list[Slot] | None:
    """`gpus` GPUs from `free` (per server): whole servers by name when the program grants whole servers (callers
    pass only fully free servers), else the least fragmenting choice on at most `max_servers` servers."""
    if not whole_servers:
        slots = choose_slots(gpus, free)
        if slots is None or (max_servers is not None and len({s.server_id for s in slots}) > max_servers):
            return None
        return slots
    taken: list[Slot] = []
    for slots in sorted((s for s in free if s), key=lambda s: s[0].server_name):
        if len(taken) + len(slots) <= gpus:
            taken += slots
        if len(taken) == gpus:
            return sorted(taken)
    return None


REJECTED_AT_AWARD = "rejected_at_award"


def rejected_at_award(decision: RoundDecision, failed: str) -> RoundDecision:
    """The selected application failed evaluation's re-check at award: no longer selected, no allocation, and the
    reason says what it had been selected for and which rules it failed."""
    why = f"selected ({decision.reason}) but found ineligible at award: {failed or 'the re-check failed'}; its GPUs " \
          "were offered to the waitlist"
    return replace(decision, selected=False, basis=REJECTED_AT_AWARD, reason=why, allocation_id=None)
