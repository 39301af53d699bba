"""Policy versions: the seed's defaults, what makes a version unusable, and which version is in force when."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from evaluation.config import PolicySeed
from evaluation.domain.policy import Policy, in_force, review_problems
from evaluation.domain.policy_bounds import policy_problems

SEED = PolicySeed().policy()
THIRDS = {"technical_social_impact": 1 / 3, "ai_ecosystem_contribution": 1 / 3, "capability_readiness": 1 / 3}


def test_the_seed_is_version_2026_1_with_program_rules_defaults() -> None:
    assert (SEED.version, SEED.effective_at) == ("2026.1", datetime(2026, 1, 1, tzinfo=UTC))
    assert dict(SEED.rubric_weights) == THIRDS
    assert (SEED.p1_regional_bonus_points, SEED.p1_youth_bonus_points, SEED.p2_non_capital_bonus_points) == (3, 3, 3)
    assert sorted(SEED.capital_region) == ["Gyeonggi", "Incheon", "Seoul"]
    assert (SEED.youth_max_age_years, SEED.early_career_max_years_since_appointment,
            SEED.early_career_max_age_years) == (39, 7, 39)
    assert (SEED.reviewers_per_application, SEED.min_reviews) == (3, 2)
    assert (SEED.p1_max_gpus, SEED.p1_max_servers, SEED.server_gpus) == (16, 2, 8)
    assert (SEED.p3_min_window_months, SEED.p3_max_window_months, SEED.p3_max_period_months) == (1, 4, 12)
    assert list(SEED.p1_company_sizes) == ["small", "startup"]
    assert policy_problems(SEED) == []


def test_the_rules_survive_the_trip_through_json() -> None:
    again = Policy.from_rules(SEED.version, SEED.effective_at, SEED.rules())
    assert again.rules() == SEED.rules() and "version" not in SEED.rules()


def test_weights_must_sum_to_one() -> None:
    policy = replace(SEED, rubric_weights={**THIRDS, "capability_readiness": 0.5})
    assert policy_problems(policy) == [("rubric_weights", "the weights must sum to 1; they sum to 1.16667")]


def test_weights_given_to_four_decimals_may_sum_to_one() -> None:
    weights = {"technical_social_impact": 0.3333, "ai_ecosystem_contribution": 0.3333, "capability_readiness": 0.3334}
    assert policy_problems(replace(SEED, rubric_weights=weights)) == []


def test_every_criterion_needs_a_weight_and_no_other() -> None:
    [(field, reason)] = policy_problems(replace(SEED, rubric_weights={"technical_social_impact": 1.0}))
    assert field == "rubric_weights" and "got technical_social_impact" in reason


def test_the_minimum_of_reviews_cannot_exceed_the_reviewers_per_application() -> None:
    assert [f for f, _ in policy_problems(replace(SEED, min_reviews=4))] == ["min_reviews"]
    assert policy_problems(replace(SEED, min_reviews=3)) == []


def test_a_seed_that_makes_no_sense_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="min_reviews"):
        PolicySeed(min_reviews=5)


def test_the_version_in_force_is_the_latest_that_has_started() -> None:
    later = replace(SEED, version="2026.2", effective_at=datetime(2026, 7, 1, tzinfo=UTC))
    versions = [later, SEED]
    assert in_force(versions, datetime(2026, 6, 30, 23, 59, tzinfo=UTC)).version == "2026.1"
    assert in_force(versions, datetime(2026, 7, 1, tzinfo=UTC)).version == "2026.2"
    assert in_force(versions, datetime(2027, 1, 1, tzinfo=UTC)).version == "2026.2"


def test_before_the_first_version_the_first_version_applies() -> None:
    assert in_force([SEED], SEED.effective_at - timedelta(days=400)).version == "2026.1"


def test_a_review_scores_each_criterion_from_zero_to_one_hundred() -> None:
    good = {"technical_social_impact": 0, "ai_ecosystem_contribution": 100, "capability_readiness": 55.5}
    assert review_problems(good) == []
    assert review_problems({**good, "capability_readiness": 100.5, "novelty": 3}) == [
        ("scores.novelty", "not a criterion of the rubric"),
        ("scores.capability_readiness", "must be between 0 and 100; it is 100.5")]
    assert review_problems({"technical_social_impact": 50}) == [
        ("scores.ai_ecosystem_contribution", "missing"), ("scores.capability_readiness", "missing")]
