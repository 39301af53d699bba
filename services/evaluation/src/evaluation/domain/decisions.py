"""The decisions on an evaluation, each under one policy version: arrival, a review in, the round's close, re-check."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from evaluation.domain import facts
from evaluation.domain.eligibility import check_eligibility
from evaluation.domain.model import INSUFFICIENT_REVIEWS, Evaluation, Recheck, Review, Status, Submission, program_day
from evaluation.domain.policy import Policy
from evaluation.domain.scoring import Scorecard, readiness_components, score_reviews

SCORED_AT_ONCE = frozenset({"P3"})  # P3's rolling intake has no panel: an eligible plan is scored at once


def evaluate(submission: Submission, policy: Policy, at: datetime) -> Evaluation:
    """Check eligibility; score an eligible P3 plan at once; send an eligible P1/P2 to its review panel."""
    checks = check_eligibility(submission, policy)
    result = Evaluation(submission, Status.AWAITING_REVIEWERS, None, policy.version, at, checks,
                        eligibility_policy_version=policy.version, facts=facts.derived_facts(submission, policy),
                        reviews_required=0 if submission.program in SCORED_AT_ONCE else policy.min_reviews)
    failed = [c.describe() for c in checks if not c.passed]
    if failed:
        result.reject(failed, policy, at)
    elif submission.program in SCORED_AT_ONCE:
        result.components = readiness_components(submission, policy)
        result.status = Status.ELIGIBLE
        result.score = round(sum(c.points for c in result.components), 2)
    return result


def _apply(result: Evaluation, card: Scorecard, reviews: int, policy: Policy) -> None:
    result.criteria, result.components = card.criteria, card.components
    result.score, result.reviews_received, result.policy_version = card.total, reviews, policy.version
    result.reviews_required = policy.min_reviews


def record_reviews(result: Evaluation, reviews: Sequence[Review], policy: Policy) -> None:
    """The score so far, for the operators to watch; it becomes final when the round closes."""
    _apply(result, score_reviews(result.submission, reviews, policy), len(reviews), policy)


def close(result: Evaluation, reviews: Sequence[Review], policy: Policy, at: datetime) -> None:
    """The round closed: score with the reviews in (any, even below the minimum), or reject for want of one.

    An application already decided (rejected on arrival, or scored) keeps its decision.
    """
    if result.decided:
        return
    if not reviews:
        result.reject([f"{INSUFFICIENT_REVIEWS}: no review arrived before the call closed; the policy asks for "
                       f"{policy.min_reviews}"], policy, at)
        return
    _apply(result, score_reviews(result.submission, reviews, policy), len(reviews), policy)
    result.status, result.evaluated_at = Status.ELIGIBLE, at


def recheck(result: Evaluation, policy: Policy, at: datetime, *, company_size: str | None = None,
            sector: str | None = None, offer_id: UUID | None = None) -> Recheck:
    """Re-run the rules on the day of `at` with the facts as they are now; a failure rejects the application.

    `offer_id` names the offer of freed capacity the re-check was for, if any.
    """
    changes: dict[str, Any] = result.change_facts(company_size=company_size, sector=sector)
    checks = check_eligibility(result.submission, policy, on=program_day(at))
    done = Recheck(at=at, policy_version=policy.version, changes=changes, checks=checks, offer_id=offer_id)
    result.rechecks.append(done)
    if not done.passed:
        result.checks, result.eligibility_policy_version = checks, policy.version
        result.reject([c.describe() for c in checks if not c.passed], policy, at)
    return done
