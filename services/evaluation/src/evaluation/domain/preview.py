"""What a proposed policy version would do to applications already scored, computed from their stored inputs."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from evaluation.domain.decisions import SCORED_AT_ONCE
from evaluation.domain.eligibility import check_eligibility
from evaluation.domain.model import Evaluation, ProgramCode, Review
from evaluation.domain.policy import Policy
from evaluation.domain.scoring import readiness_components, score_reviews


@dataclass(frozen=True)
class Rescored:
    """One application under the version in force and under the proposal; a score is None where it would fail
    eligibility (the failed rules say why)."""

    application_id: UUID
    program: ProgramCode
    call_id: UUID | None
    recorded_score: float | None
    recorded_policy_version: str
    current_score: float | None
    proposed_score: float | None
    proposed_failed_rules: list[str]

    @property
    def difference(self) -> float | None:
        if self.current_score is None or self.proposed_score is None:
            return None
        return round(self.proposed_score - self.current_score, 2)


@dataclass(frozen=True)
class Preview:
    """A proposal's validation, and, when it is valid, its effect on the scored applications looked at."""

    problems: list[tuple[str, str]]
    proposed: Policy | None
    in_force: Policy
    at: datetime
    applications: list[Rescored]


def rescore(result: Evaluation, reviews: Sequence[Review], policy: Policy) -> tuple[float | None, list[str]]:
    """The score the application would have under `policy` (judged on its submission day, with the reviews in),
    or None and the rules it would fail."""
    failed = [c.describe() for c in check_eligibility(result.submission, policy) if not c.passed]
    if failed:
        return None, failed
    if result.submission.program in SCORED_AT_ONCE:
        return round(sum(c.points for c in readiness_components(result.submission, policy)), 2), []
    if not reviews:
        return None, []
    return score_reviews(result.submission, reviews, policy).total, []


def compare(result: Evaluation, reviews: Sequence[Review], current: Policy, proposed: Policy) -> Rescored:
    current_score, _ = rescore(result, reviews, current)
    proposed_score, failed = rescore(result, reviews, proposed)
    return Rescored(result.application_id, result.submission.program, result.submission.call_id, result.score,
                    result.policy_version, current_score, proposed_score, failed)
