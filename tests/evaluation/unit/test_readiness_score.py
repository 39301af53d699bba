"""The P3 readiness score and the outcome of an evaluation, without a database."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from evaluation.config import PolicySeed
from evaluation.domain.decisions import evaluate
from evaluation.domain.model import Applicant, Company, Researcher, Status, Submission
from evaluation.domain.policy import Policy
from evaluation.domain.scoring import readiness_components

POLICY = PolicySeed().policy()
AT = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)


def a_submission(program: str = "P3", sector: str = "academia", **overrides: object) -> Submission:
    fields: dict[str, object] = dict(
        application_id=uuid4(), program=program, call_id=None,
        applicant=Applicant(sector=sector, institution="KAIST", region="Daejeon"),
        gpus_requested=4, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=2000, submitted_at=AT,
    )
    fields.update(overrides)
    return Submission(**fields)  # type: ignore[arg-type]


def points(submission: Submission, policy: Policy = POLICY) -> dict[str, float]:
    return {c.name: c.points for c in readiness_components(submission, policy)}


def test_the_plan_earns_sixty_points_times_its_ratio_to_what_the_gpus_offer() -> None:
    # 2000 / (4 x 730) = 0.684931...; 60 x that = 41.0958... -> 41.10
    assert points(a_submission()) == {"eligibility_base": 40.0, "plan_readiness": 41.1}


def test_a_plan_using_every_average_hour_scores_one_hundred() -> None:
    assert evaluate(a_submission(planned_gpu_hours_per_month=4 * 730), POLICY, AT).score == 100.0


def test_a_plan_above_the_average_month_is_capped_at_one_hundred() -> None:
    result = evaluate(a_submission(planned_gpu_hours_per_month=4 * 744), POLICY, AT)
    assert result.score == 100.0
    assert points(a_submission(planned_gpu_hours_per_month=4 * 744))["plan_readiness"] == 60.0


def test_a_one_hour_plan_scores_just_above_the_base() -> None:
    # 60 x 1 / 7300 = 0.00821... -> 0.01
    assert evaluate(a_submission(gpus_requested=10, planned_gpu_hours_per_month=1), POLICY, AT).score == 40.01


@pytest.mark.parametrize("gpus,planned,expected", [
    (1, 365, 70.0),         # ratio exactly 1/2
    (3, 1000, 67.4),        # 60 x 1000/2190 = 27.3972...
    (8, 1, 40.01),          # 60/5840 = 0.010273... -> 0.01
    (2, 73, 43.0),          # ratio 1/20 -> 3 points
    (6, 73, 41.0),          # ratio 1/60 -> 1 point
])
def test_the_score_is_rounded_to_two_decimals(gpus: int, planned: int, expected: float) -> None:
    result = evaluate(a_submission(gpus_requested=gpus, planned_gpu_hours_per_month=planned), POLICY, AT)
    assert result.score == expected


def test_a_half_cent_rounds_up_exactly_not_by_binary_floating_point() -> None:
    # base 40.5 leaves 59.5 points; ratio 1/4 gives 14.875 -> 14.88 (half up), score 55.38
    policy = replace(POLICY, eligibility_base_points=40.5)
    result = evaluate(a_submission(gpus_requested=4, planned_gpu_hours_per_month=730), policy, AT)
    assert points(a_submission(gpus_requested=4, planned_gpu_hours_per_month=730), policy)["plan_readiness"] \
        == 14.88
    assert result.score == 55.38


def test_the_components_add_up_to_the_score() -> None:
    result = evaluate(a_submission(gpus_requested=3, planned_gpu_hours_per_month=1000), POLICY, AT)
    assert result.score == round(sum(c.points for c in result.components), 2) == 67.4


def test_the_base_is_the_policy_setting_and_the_plan_earns_the_rest_of_one_hundred() -> None:
    policy = replace(POLICY, eligibility_base_points=20)
    assert points(a_submission(gpus_requested=1, planned_gpu_hours_per_month=365), policy) == {
        "eligibility_base": 20.0, "plan_readiness": 40.0}


def test_an_eligible_p3_application_is_scored_with_the_policy_version() -> None:
    result = evaluate(a_submission(), replace(POLICY, version="2027.2"), AT)
    assert (result.status, result.score, result.policy_version) == (Status.ELIGIBLE, 81.1, "2027.2")
    assert result.failed_rules == []
    assert result.evaluated_at == AT


def test_an_ineligible_application_is_rejected_unscored_naming_each_rule_with_its_reason() -> None:
    result = evaluate(a_submission(period_start=date(2026, 5, 1), period_end=date(2026, 4, 1)), POLICY, AT)
    assert (result.status, result.score, result.components) == (Status.REJECTED, None, [])
    assert len(result.failed_rules) == 2
    assert result.failed_rules[0].startswith("p3_period_not_ended: the period ended on 2026-04-01")
    assert result.failed_rules[1].startswith("period_order: ")


@pytest.mark.parametrize("program,sector,gpus,rules", [("P1", "industry", 4, 6), ("P2", "research_institute", 8, 4)])
def test_an_eligible_p1_or_p2_application_awaits_its_review_panel_unscored(program: str, sector: str,
                                                                         gpus: int, rules: int) -> None:
    company = Company("1234567891", "small", "Seoul", date(1980, 1, 1)) if program == "P1" else None
    result = evaluate(a_submission(program, sector, gpus_requested=gpus, company=company), POLICY, AT)
    assert (result.status, result.score, result.components) == (Status.AWAITING_REVIEWERS, None, [])
    assert all(c.passed for c in result.checks) and len(result.checks) == rules
    assert result.eligibility_policy_version == result.policy_version == "2026.1"


def test_the_derived_facts_are_kept_with_the_evaluation() -> None:
    researcher = Researcher("university", appointment_date=date(2015, 3, 1), birth_date=date(1980, 1, 1))
    result = evaluate(a_submission("P2", gpus_requested=8, researcher=researcher), POLICY, AT)
    assert result.facts == {"early_career": False, "non_capital_region": True}
