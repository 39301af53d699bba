"""Evaluation's date arithmetic never raises on what the contracts let through: any date within their bounds, any
window they allow, under policies with any number of years and months."""
from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import UTC, date, datetime, time
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.bounds import EARLIEST_DATE, INT32_MAX, LATEST_DATE
from evaluation.config import PolicySeed
from evaluation.domain import facts, scoring
from evaluation.domain.eligibility import check_eligibility
from evaluation.domain.model import Applicant, Company, Researcher, Submission
from evaluation.domain.policy import Policy

SEED = PolicySeed().policy()
EXAMPLES = settings(max_examples=300, deadline=None)

days = st.dates(min_value=EARLIEST_DATE, max_value=LATEST_DATE)
policy_years = st.integers(min_value=0, max_value=10**6)
policy_months = st.integers(min_value=1, max_value=10**6)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    return replace(SEED, early_career_max_years_since_appointment=draw(policy_years),
                   youth_max_age_years=draw(policy_years), early_career_max_age_years=draw(policy_years),
                   p3_max_period_months=draw(policy_months), p3_min_window_months=draw(policy_months),
                   p3_max_window_months=draw(policy_months))


@st.composite
def submissions(draw: st.DrawFn) -> Submission:
    """Any submission the contracts accept, its dates anywhere in their bounds (in order or not)."""
    program = draw(st.sampled_from(["P1", "P2", "P3"]))
    submitted_on = draw(days)
    return Submission(
        application_id=uuid4(), program=program, call_id=None,
        applicant=Applicant(sector="academia", institution="KAIST", region="Daejeon"),
        gpus_requested=draw(st.integers(min_value=1, max_value=INT32_MAX)), gpu_model="H100",
        period_start=draw(days), period_end=draw(days),
        planned_gpu_hours_per_month=draw(st.integers(min_value=1, max_value=INT32_MAX)),
        submitted_at=datetime.combine(submitted_on, draw(st.times()), UTC),
        company=Company("1234567891", "startup", "Busan", draw(days)) if program == "P1" else None,
        researcher=Researcher("university", draw(days), draw(days)) if program == "P2" else None,
        earliest_start=draw(st.none() | days) if program == "P3" else None,
        acceptable_window_months=draw(st.none() | st.integers(min_value=1, max_value=4)) if program == "P3" else None,
    )


@EXAMPLES
@given(submission=submissions(), policy=policies(), on=days)
def test_facts_eligibility_and_bonuses_never_raise_on_dates_within_the_contract_bounds(
        submission: Submission, policy: Policy, on: date) -> None:
    assert set(facts.derived_facts(submission, policy).values()) <= {True, False}
    assert facts.track(submission, policy) in {"general", "early_career"}
    for day in (None, on):
        assert len(check_eligibility(submission, policy, day)) > 0
    assert all(c.points >= 0 for c in scoring.bonuses(submission, policy))
    assert len(scoring.readiness_components(submission, policy)) == 2


@EXAMPLES
@given(day=st.dates(), months=st.integers(min_value=-10**7, max_value=10**7))
def test_adding_months_saturates_at_the_calendar_ends_and_otherwise_keeps_the_day_the_month_has(
        day: date, months: int) -> None:
    moved = facts.add_months(day, months)
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    if year < date.min.year:
        assert moved == date.min
    elif year > date.max.year:
        assert moved == date.max
    else:
        assert moved == date(year, month_index + 1, min(day.day, calendar.monthrange(year, month_index + 1)[1]))


def test_the_earliest_and_latest_bounded_days_judge_without_raising() -> None:
    policy = replace(SEED, early_career_max_years_since_appointment=10**6, p3_max_period_months=10**6)
    extremes = Submission(
        application_id=uuid4(), program="P3", call_id=None,
        applicant=Applicant(sector="academia", institution="KAIST", region="Daejeon"), gpus_requested=1,
        gpu_model="H100", period_start=EARLIEST_DATE, period_end=LATEST_DATE, planned_gpu_hours_per_month=1,
        submitted_at=datetime.combine(LATEST_DATE, time.max, UTC), earliest_start=LATEST_DATE,
        acceptable_window_months=4)
    failed = [c.rule for c in check_eligibility(extremes, policy, LATEST_DATE) if not c.passed]
    assert failed == ["p3_window_open"]  # four months from the last bounded day run past the period's end
