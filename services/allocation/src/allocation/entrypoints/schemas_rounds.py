"""The waiting lines' API response bodies: rounds with their decisions, the waitlist, offers."""
from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from allocation.domain.offers import OfferKind
from allocation.entrypoints.schemas import Pool


class WaitlistOut(BaseModel):
    application_id: UUID
    program: Pool
    score: float
    gpus: int
    gpu_model: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_at: datetime
    call_id: UUID | None
    rank: int | None
    track: str
    institution: str
    min_days: int | None
    offer_id: UUID | None


class DecisionOut(BaseModel):
    application_id: UUID
    selected: bool
    rank: int
    basis: str = Field(description="selected: reserve, open, reserve_cap_lifted, cap_lifted; waitlisted: "
                                   "capacity, institution_cap, score, invalid, placement; selected but found "
                                   "ineligible by the re-check at award (not selected, no allocation, the failed "
                                   "rules in the reason): rejected_at_award")
    reason: str
    score: float
    gpus: int
    allocation_id: UUID | None


class RoundOut(BaseModel):
    call_id: UUID
    program: Pool
    status: Literal["pending", "selected"]
    expected: int
    scored_at: datetime
    selected_at: datetime | None
    method: str | None
    objective: float | None
    capacity: dict[str, int]
    reserve_gpus: int
    reserve_gpus_used: int
    solve_seconds: float | None
    decisions: list[DecisionOut] = []


class OfferOut(BaseModel):
    id: UUID
    application_id: UUID
    allocation_id: UUID
    program: Pool
    kind: OfferKind = Field(description="waitlist: freed capacity, the partner accepts or declines; award: a round's "
                                        "selected application held for the re-check at award, allocated once "
                                        "evaluation confirms (state accepted)")
    state: str
    freed_at: datetime
    requested_at: datetime
    made_at: datetime | None
    expires_at: datetime | None
    answered_at: datetime | None
    latency_s: float | None = Field(description="Seconds from the capacity freeing to the offer going out.")
