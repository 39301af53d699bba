"""Evaluation's commands: what other services' events, operators and reviewers ask it to do."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from evaluation.domain.model import ProgramCode, Submission


@dataclass(frozen=True)
class EvaluateApplication(Submission):
    """Check a submitted application's eligibility; score a P3 one at once, send a P1/P2 one to a panel."""


@dataclass(frozen=True)
class ScoreRound:
    """A P1/P2 call closed: make each listed application's score final (or reject it), then report the round."""

    call_id: UUID
    program: ProgramCode
    opens_at: datetime
    closes_at: datetime
    application_ids: tuple[UUID, ...]


@dataclass(frozen=True)
class WithdrawApplication:
    """The applicant withdrew (at `at`, the event's time): end the evaluation and its panel's assignments, so the
    reviewers' load drops and its round waits for it no more; nothing more is scored or published for it."""

    application_id: UUID
    at: datetime
    reason: str = ""


@dataclass(frozen=True)
class RecheckEligibility:
    """Re-run the rules at award time, under the version in force at `at`, with facts that changed since."""

    application_id: UUID
    at: datetime
    company_size: str | None = None
    sector: str | None = None


@dataclass(frozen=True)
class RecheckForOffer:
    """Allocation holds freed capacity for a waitlisted application: re-run the rules under the version in force at
    `at` (the request's time) and answer for the offer, confirmed or rejected."""

    application_id: UUID
    offer_id: UUID
    program: ProgramCode
    at: datetime


@dataclass(frozen=True)
class RegisterReviewer:
    """Add a reviewer to the pool; applications waiting for reviewers are assigned at once if they now can be."""

    name: str
    institution: str
    expertise: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True)
class SubmitReview:
    """An assigned reviewer's criterion scores for one application."""

    application_id: UUID
    reviewer_id: UUID
    scores: dict[str, float]
    at: datetime


@dataclass(frozen=True)
class PublishPolicy:
    """Schedule a new policy version from `effective_at` on; `changes` are the rules that differ from the latest
    version's. `by` and `role` are the caller's (the access token's subject and role), kept for the audit."""

    version: str
    effective_at: datetime
    by: str
    role: str
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CancelPolicy:
    """Withdraw a scheduled version before it takes effect; it stays listed, cancelled, with who did it."""

    version: str
    by: str
    role: str


@dataclass(frozen=True)
class PreviewPolicy:
    """What a proposed version would change, without storing anything: its validation, and the scores of up to
    `limit` scored applications (of one call, if given) under the version in force and under the proposal."""

    version: str
    effective_at: datetime
    changes: dict[str, Any] = field(default_factory=dict)
    call_id: UUID | None = None
    limit: int = 50
