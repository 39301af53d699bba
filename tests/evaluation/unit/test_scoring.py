"""The P1/P2 score: the weighted rubric of the reviews plus bonus points, and the round's close, without a database."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from evaluation.config import PolicySeed
from evaluation.domain import decisions
from evaluation.domain.model import Applicant, Company, Researcher, Review, Status, Submission
from evaluation.domain.policy import Policy
from evaluation.domain.scoring import score_reviews

POLICY = PolicySeed().policy()
AT = datetime(2026, 4, 10, 9, 0, tzinfo=UTC)
CLOSED_AT = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)
YOUNG, OLD = date(1995, 6, 1), date(1970, 6, 1)


def p1(region: str = "Busan", birth: date = YOUNG) -> Submission:
    return Submission(
        application_id=uuid4(), program="P1", call_id=uuid4(),
        applicant=Applicant(sector="industry", institution="Acme AI", region=region, name="Acme AI"),
        gpus_requested=8, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=3000, submitted_at=AT, company=Company("1234567891", "startup", region, birth))


def p2(region: str = "Daejeon") -> Submission:
    return Submission(
        application_id=uuid4(), program="P2", call_id=uuid4(),
        applicant=Applicant(sector="academia", institution="KAIST", region=region, name="Dr. Kim"),
        gpus_requested=16, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=6000, submitted_at=AT, servers_requested=2,
        researcher=Researcher("university", date(2012, 3, 1), OLD))


def review(impact: float, ecosystem: float, readiness: float) -> Review:
    return Review(uuid4(), {"technical_social_impact": impact, "ai_ecosystem_contribution": ecosystem,
                            "capability_readiness": readiness})


TWO_REVIEWS = [review(80, 70, 90), review(90, 60, 75)]  # means 85, 65, 82.5


def points(s: Submission, reviews: list[Review], policy: Policy = POLICY) -> dict[str, float]:
    return {c.name: c.points for c in score_reviews(s, reviews, policy).components}


def test_equal_thirds_make_the_rubric_the_mean_of_the_criterion_means() -> None:
    card = score_reviews(p1(region="Seoul", birth=OLD), TWO_REVIEWS, POLICY)
    assert [(c.name, c.mean, c.reviews) for c in card.criteria] == [
        ("technical_social_impact", 85.0, 2), ("ai_ecosystem_contribution", 65.0, 2),
        ("capability_readiness", 82.5, 2)]
    assert card.total == 77.5  # (85 + 65 + 82.5) / 3


def test_a_regional_youth_company_gets_both_p1_bonuses_on_top_of_the_rubric() -> None:
    assert points(p1(region="Busan", birth=YOUNG), TWO_REVIEWS) == {
        "rubric": 77.5, "bonus_regional": 3.0, "bonus_youth": 3.0}
    assert score_reviews(p1(), TWO_REVIEWS, POLICY).total == 83.5


@pytest.mark.parametrize("region,birth,total", [("Busan", OLD, 80.5), ("Seoul", YOUNG, 80.5),
                                                ("Seoul", OLD, 77.5)])
def test_each_p1_bonus_counts_on_its_own(region: str, birth: date, total: float) -> None:
    assert score_reviews(p1(region=region, birth=birth), TWO_REVIEWS, POLICY).total == total


def test_a_p2_researcher_outside_the_capital_region_gets_its_bonus() -> None:
    assert points(p2(region="Daejeon"), TWO_REVIEWS) == {"rubric": 77.5, "bonus_non_capital_region": 3.0}
    assert points(p2(region="Seoul"), TWO_REVIEWS) == {"rubric": 77.5, "bonus_non_capital_region": 0.0}


def test_the_weights_and_bonuses_are_the_policy_version_s() -> None:
    policy = replace(POLICY, rubric_weights={"technical_social_impact": 0.5, "ai_ecosystem_contribution": 0.3,
                                             "capability_readiness": 0.2}, p1_regional_bonus_points=5)
    # 0.5 x 85 + 0.3 x 65 + 0.2 x 82.5 = 42.5 + 19.5 + 16.5 = 78.5; + 5 regional + 3 youth
    assert points(p1(), TWO_REVIEWS, policy) == {"rubric": 78.5, "bonus_regional": 5.0, "bonus_youth": 3.0}
    assert score_reviews(p1(), TWO_REVIEWS, policy).total == 86.5


def test_the_rubric_is_rounded_once_half_up_from_the_exact_sum() -> None:
    # each third of 80 shows as 26.67, but the rubric is the exact 80, not 3 x 26.67 = 80.01
    same = score_reviews(p1(region="Seoul", birth=OLD), [review(80, 80, 80)], POLICY)
    assert [c.weighted_points for c in same.criteria] == [26.67, 26.67, 26.67]
    assert same.total == 80.0
    # 242 / 3 = 80.666... -> 80.67; 80.005 (a half cent) rounds up
    assert score_reviews(p1(region="Seoul", birth=OLD), [review(80, 81, 81)], POLICY).total == 80.67
    assert score_reviews(p1(region="Seoul", birth=OLD), [review(80, 80, 80.015)], POLICY).total == 80.01


def test_nothing_caps_the_final_score_above_one_hundred() -> None:
    assert score_reviews(p1(), [review(100, 100, 100)], POLICY).total == 106.0


def test_the_components_add_up_to_the_score_and_each_bonus_names_its_rule() -> None:
    card = score_reviews(p1(birth=OLD), TWO_REVIEWS, POLICY)
    assert sum(c.points for c in card.components) == card.total == 80.5
    details = {c.name: c.detail for c in card.components}
    assert details["bonus_regional"].startswith("regional company: head office in Busan, outside the capital")
    assert details["bonus_regional"].endswith("+3")
    assert "not earned, +0 of 3" in details["bonus_youth"] and "aged 55" in details["bonus_youth"]
    assert "0.3333 x 85.00" in details["rubric"] and "2 review(s)" in details["rubric"]
    assert card.bonus_points == 3.0


def test_the_close_makes_the_score_final_with_the_close_s_policy() -> None:
    result = decisions.evaluate(p1(), POLICY, AT)
    result.start_review()
    decisions.close(result, TWO_REVIEWS, replace(POLICY, version="2026.9"), CLOSED_AT)
    assert (result.status, result.score, result.policy_version) == (Status.ELIGIBLE, 83.5, "2026.9")
    assert (result.eligibility_policy_version, result.reviews_received, result.evaluated_at) == (
        "2026.1", 2, CLOSED_AT)


def test_one_review_below_the_minimum_still_scores_at_the_close() -> None:
    result = decisions.evaluate(p1(), POLICY, AT)
    result.start_review()
    decisions.record_reviews(result, TWO_REVIEWS[:1], POLICY)
    assert not result.score_final
    decisions.close(result, TWO_REVIEWS[:1], POLICY, CLOSED_AT)
    assert (result.status, result.score, result.reviews_received) == (Status.ELIGIBLE, 86.0, 1)  # 80 + 6
    assert result.score_final


def test_no_review_at_the_close_rejects_for_insufficient_reviews() -> None:
    result = decisions.evaluate(p1(), POLICY, AT)
    decisions.close(result, [], POLICY, CLOSED_AT)
    assert (result.status, result.score) == (Status.REJECTED, None)
    assert result.failed_rules == ["insufficient_reviews: no review arrived before the call closed; the policy "
                                   "asks for 2"]


def test_the_minimum_number_of_reviews_makes_a_score_final_before_the_close() -> None:
    result = decisions.evaluate(p1(), POLICY, AT)
    result.start_review()
    assert (result.score_final, result.reviews_required) == (False, 2)
    decisions.record_reviews(result, TWO_REVIEWS, POLICY)
    assert result.score_final and result.status is Status.IN_REVIEW
    decisions.record_reviews(result, TWO_REVIEWS, replace(POLICY, min_reviews=3))
    assert not result.score_final


def test_a_decided_application_keeps_its_decision_at_the_close() -> None:
    rejected = decisions.evaluate(replace(p1(), gpus_requested=40), POLICY, AT)
    decisions.close(rejected, TWO_REVIEWS, POLICY, CLOSED_AT)
    assert rejected.status is Status.REJECTED and rejected.failed_rules[0].startswith("p1_gpu_range")
