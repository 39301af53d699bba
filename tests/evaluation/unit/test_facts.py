"""The facts derived from the form on the submission day: youth, regional, early-career, non-capital, the track."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from evaluation.config import PolicySeed
from evaluation.domain import facts
from evaluation.domain.model import Applicant, Company, Researcher, Submission

POLICY = PolicySeed().policy()
SUBMITTED_AT = datetime(2026, 4, 10, 9, 0, tzinfo=UTC)


def p1(birth: date = date(1990, 1, 1), region: str = "Busan", submitted_at: datetime = SUBMITTED_AT) -> Submission:
    return Submission(
        application_id=uuid4(), program="P1", call_id=None,
        applicant=Applicant(sector="industry", institution="Acme AI", region="Seoul", name="Acme AI"),
        gpus_requested=4, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=1000, submitted_at=submitted_at,
        company=Company("1234567891", "startup", region, birth))


def p2(appointed: date = date(2015, 1, 1), birth: date = date(1975, 1, 1), region: str = "Daejeon") -> Submission:
    return Submission(
        application_id=uuid4(), program="P2", call_id=None,
        applicant=Applicant(sector="academia", institution="KAIST", region=region, name="Dr. Kim"),
        gpus_requested=8, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=1000, submitted_at=SUBMITTED_AT,
        researcher=Researcher("university", appointed, birth))


@pytest.mark.parametrize("birth,day,age", [
    (date(1986, 4, 10), date(2026, 4, 10), 40),   # the 40th birthday itself
    (date(1986, 4, 11), date(2026, 4, 10), 39),   # the day before it
    (date(2004, 2, 29), date(2026, 2, 28), 21),   # a leap-day birthday is not reached on 28 February
    (date(2004, 2, 29), date(2026, 3, 1), 22),
    (date(2004, 2, 29), date(2028, 2, 29), 24),
])
def test_age_counts_completed_years_and_turns_on_the_birthday(birth: date, day: date, age: int) -> None:
    assert facts.age_on(birth, day) == age


def test_a_representative_turning_40_the_day_after_the_submission_makes_a_youth_company() -> None:
    assert facts.is_youth_company(p1(birth=date(1986, 4, 11)), POLICY)


def test_a_representative_turning_40_on_the_submission_day_does_not() -> None:
    assert not facts.is_youth_company(p1(birth=date(1986, 4, 10)), POLICY)


@pytest.mark.parametrize(("submitted_at", "youth"), [
    (datetime(2026, 4, 9, 14, 59, tzinfo=UTC), True),  # 23:59 on 9 April in Korea: still 39
    (datetime(2026, 4, 9, 15, 0, tzinfo=UTC), False),  # 9 April in UTC, but 10 April in Korea: 40 that day
])
def test_the_age_is_counted_on_koreas_calendar(submitted_at: datetime, youth: bool) -> None:
    assert facts.is_youth_company(p1(birth=date(1986, 4, 10), submitted_at=submitted_at), POLICY) is youth


def test_the_youth_age_is_the_policy_setting() -> None:
    submission = p1(birth=date(1986, 4, 10))
    assert facts.is_youth_company(submission, replace(POLICY, youth_max_age_years=40))


def test_a_p1_application_without_a_company_is_not_a_youth_company() -> None:
    assert not facts.is_youth_company(replace(p1(), company=None), POLICY)


@pytest.mark.parametrize("region,regional", [("Busan", True), ("Jeju", True), ("Seoul", False),
                                             ("Incheon", False), ("Gyeonggi", False)])
def test_a_company_is_regional_when_its_head_office_is_outside_the_capital_region(region: str,
                                                                                 regional: bool) -> None:
    assert facts.is_regional_company(p1(region=region), POLICY) is regional


def test_the_head_office_decides_not_the_applicant_s_region() -> None:
    submission = p1(region="Gwangju")
    assert submission.applicant.region == "Seoul" and facts.is_regional_company(submission, POLICY)


def test_the_capital_region_is_the_policy_setting() -> None:
    assert not facts.is_regional_company(p1(region="Busan"), replace(POLICY, capital_region=("Seoul", "Busan")))


def test_a_researcher_appointed_exactly_seven_years_ago_is_early_career() -> None:
    assert facts.is_early_career(p2(appointed=date(2019, 4, 10)), POLICY)


def test_a_researcher_appointed_seven_years_and_a_day_ago_is_not() -> None:
    assert not facts.is_early_career(p2(appointed=date(2019, 4, 9)), POLICY)


def test_a_researcher_aged_39_is_early_career_whenever_appointed() -> None:
    assert facts.is_early_career(p2(appointed=date(2010, 1, 1), birth=date(1986, 4, 11)), POLICY)
    assert not facts.is_early_career(p2(appointed=date(2010, 1, 1), birth=date(1986, 4, 10)), POLICY)


def test_the_early_career_limits_are_the_policy_setting() -> None:
    submission = p2(appointed=date(2018, 4, 10))
    assert not facts.is_early_career(submission, POLICY)
    assert facts.is_early_career(submission, replace(POLICY, early_career_max_years_since_appointment=8))


def test_the_track_is_early_career_only_for_p2_early_career_researchers() -> None:
    assert facts.track(p2(appointed=date(2022, 1, 1)), POLICY) == "early_career"
    assert facts.track(p2(appointed=date(2010, 1, 1)), POLICY) == "general"
    assert facts.track(p1(birth=date(2000, 1, 1)), POLICY) == "general"


@pytest.mark.parametrize("region,outside", [("Daejeon", True), ("Seoul", False), ("Gyeonggi", False)])
def test_a_researcher_outside_the_capital_region_is_non_capital(region: str, outside: bool) -> None:
    assert facts.is_non_capital_researcher(p2(region=region), POLICY) is outside


def test_the_derived_facts_are_named_per_program() -> None:
    assert facts.derived_facts(p1(birth=date(2000, 1, 1), region="Seoul"), POLICY) == {
        "youth_company": True, "regional_company": False}
    assert facts.derived_facts(p2(appointed=date(2022, 1, 1)), POLICY) == {
        "early_career": True, "non_capital_region": True}
