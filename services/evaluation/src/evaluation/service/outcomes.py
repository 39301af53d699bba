"""The events that tell the other services what evaluation decided."""
from __future__ import annotations

from typing import get_args
from uuid import UUID

from contracts import ApplicationRejected, ApplicationScored, EligibilityConfirmed, Event
from contracts.events.common import Sector
from contracts.events.evaluation import BonusFact, Criterion, Points, ScoredFact
from evaluation.domain import facts
from evaluation.domain.model import NO_EVALUATION, Evaluation, ProgramCode, Recheck, Status
from evaluation.domain.policy import Policy
from evaluation.domain.scoring import Scorecard

SCORED_FACTS: tuple[ScoredFact, ...] = get_args(ScoredFact)
SECTORS: tuple[Sector, ...] = get_args(Sector)
CRITERIA: tuple[Criterion, ...] = get_args(Criterion)
# the score component each bonus fact earns (scoring.bonuses)
BONUS_COMPONENTS: dict[str, BonusFact] = {"bonus_regional": "regional_company", "bonus_youth": "youth_company",
                                          "bonus_non_capital_region": "non_capital_region"}


def _region(result: Evaluation) -> str:
    s = result.submission
    return facts.p1_region(s) if s.program == "P1" else s.applicant.region


def _servers(result: Evaluation, policy: Policy) -> int | None:
    s = result.submission
    if s.program != "P2":
        return None
    return s.servers_requested or max(1, s.gpus_requested // policy.server_gpus)


def _facts(result: Evaluation, policy: Policy) -> list[ScoredFact]:
    """The facts found true under the score's policy (the ones its bonuses and track rest on), in a fixed order."""
    found = facts.derived_facts(result.submission, policy)
    return [fact for fact in SCORED_FACTS if found.get(fact)]


def _sector(result: Evaluation) -> Sector | None:
    found = result.submission.applicant.sector
    return next((s for s in SECTORS if s == found), None)


def _rubric_means(result: Evaluation) -> dict[Criterion, Points]:
    """Each criterion's mean, unrounded where the evaluation kept it (older ones have the rounded mean only)."""
    means = {c.name: c.exact_mean if c.exact_mean is not None else c.mean for c in result.criteria}
    return {name: means[name] for name in CRITERIA if name in means}


def _bonuses(result: Evaluation, found: list[ScoredFact]) -> dict[BonusFact, Points]:
    """The bonus facts earned, each with the points its component added."""
    return {fact: c.points for c in result.components
            if (fact := BONUS_COMPONENTS.get(c.name)) is not None and fact in found}


def scored_event(result: Evaluation, policy: Policy) -> ApplicationScored:
    """What allocation needs to rank and place the application; `policy` is the version of the score."""
    s = result.submission
    assert result.score is not None
    found = _facts(result, policy)
    return ApplicationScored(
        application_id=s.application_id, program=s.program, call_id=s.call_id, score=result.score,
        policy_version=result.policy_version, track=facts.track(s, policy), institution=s.applicant.institution,
        gpus_requested=s.gpus_requested, gpu_model=s.gpu_model, period_start=s.period_start,
        period_end=s.period_end, planned_gpu_hours_per_month=s.planned_gpu_hours_per_month,
        servers_requested=_servers(result, policy), region=_region(result),
        bonus_points=Scorecard(result.criteria, result.components).bonus_points,
        earliest_start=s.earliest_start, acceptable_window_months=s.acceptable_window_months,
        facts=found, sector=_sector(result), rubric_means=_rubric_means(result),
        bonuses=_bonuses(result, found),
    )


def rejected_event(result: Evaluation, offer_id: UUID | None = None) -> ApplicationRejected:
    """The rejection; `offer_id` when it answers allocation's re-check before an offer."""
    s = result.submission
    return ApplicationRejected(application_id=s.application_id, program=s.program,
                               failed_rules=result.failed_rules, policy_version=result.policy_version,
                               offer_id=offer_id)


def confirmed_event(result: Evaluation, done: Recheck, offer_id: UUID) -> EligibilityConfirmed:
    """The re-check before an offer passed, under `done`'s policy version."""
    return EligibilityConfirmed(application_id=result.application_id, offer_id=offer_id,
                                policy_version=done.policy_version)


def no_evaluation_event(application_id: UUID, program: ProgramCode, policy: Policy,
                        offer_id: UUID) -> ApplicationRejected:
    """The answer to a re-check for an application evaluation never received: it cannot be confirmed."""
    return ApplicationRejected(application_id=application_id, program=program,
                               failed_rules=[f"{NO_EVALUATION}: no evaluation of this application is on record"],
                               policy_version=policy.version, offer_id=offer_id)


def outcome(result: Evaluation, policy: Policy) -> Event | None:
    """The decision as an event; none while the application is still with (or waiting for) its panel."""
    if result.status is Status.REJECTED:
        return rejected_event(result)
    if result.status is Status.ELIGIBLE:
        return scored_event(result, policy)
    return None
