"""Each eligibility rule of P1, P2, P3 and the rules every program shares, without a database."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from evaluation.config import PolicySeed
from evaluation.domain.eligibility import check_eligibility
from evaluation.domain.facts import add_months
from evaluation.domain.model import Applicant, Company, Submission
from evaluation.domain.policy import Policy

POLICY = PolicySeed().policy()
SUBMITTED_AT = datetime(2026, 4, 10, 9, 30, tzinfo=UTC)
A_STARTUP = Company(business_registration_number="1234567891", size="startup", head_office_region="Busan",
                    representative_birth_date=date(1990, 1, 1))


def a_submission(program: str = "P3", sector: str = "academia", **overrides: object) -> Submission:
    fields: dict[str, object] = dict(
        application_id=uuid4(), program=program, call_id=None,
        applicant=Applicant(sector=sector, institution="KAIST", region="Daejeon"),
        gpus_requested=8, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=1000, submitted_at=SUBMITTED_AT,
        company=A_STARTUP if program == "P1" else None,
    )
    fields.update(overrides)
    return Submission(**fields)  # type: ignore[arg-type]


def failed(submission: Submission, policy: Policy = POLICY, on: date | None = None) -> list[str]:
    return [c.rule for c in check_eligibility(submission, policy, on) if not c.passed]


def test_a_p1_industry_request_within_sixteen_gpus_passes_every_rule() -> None:
    assert failed(a_submission("P1", "industry", gpus_requested=16)) == []


@pytest.mark.parametrize("sector", ["academia", "research_institute", "public"])
def test_p1_refuses_applicants_outside_industry(sector: str) -> None:
    assert failed(a_submission("P1", sector, gpus_requested=8)) == ["p1_industry_sector"]


def test_p1_refuses_seventeen_gpus_and_says_how_many_were_asked() -> None:
    checks = check_eligibility(a_submission("P1", "industry", gpus_requested=17), POLICY)
    failing = [c for c in checks if not c.passed]
    assert [c.rule for c in failing] == ["p1_gpu_range", "p1_server_count"]
    assert "1 to 16" in failing[0].message and "17" in failing[0].message
    assert "needs 3" in failing[1].message


def test_p1_grants_zero_gpus_to_nobody() -> None:
    assert "p1_gpu_range" in failed(a_submission("P1", "industry", gpus_requested=0))


def test_the_p1_gpu_ceiling_is_the_policy_setting() -> None:
    assert failed(a_submission("P1", "industry", gpus_requested=12), replace(POLICY, p1_max_gpus=10)) \
        == ["p1_gpu_range"]


@pytest.mark.parametrize("size", ["small", "startup"])
def test_p1_accepts_small_companies_and_startups(size: str) -> None:
    company = replace(A_STARTUP, size=size)
    assert failed(a_submission("P1", "industry", gpus_requested=4, company=company)) == []


@pytest.mark.parametrize("size", ["mid", "large"])
def test_p1_refuses_a_company_that_is_neither_small_nor_a_startup(size: str) -> None:
    checks = check_eligibility(a_submission("P1", "industry", gpus_requested=4,
                                            company=replace(A_STARTUP, size=size)), POLICY)
    failing = [c for c in checks if not c.passed]
    assert [c.rule for c in failing] == ["p1_company_size"]
    assert failing[0].message == f"P1 is for small and startup companies; the company is {size}"


def test_p1_refuses_an_application_without_the_company_s_details() -> None:
    assert failed(a_submission("P1", "industry", gpus_requested=4, company=None)) == ["p1_company_size"]


def test_the_eligible_company_sizes_are_the_policy_setting() -> None:
    submission = a_submission("P1", "industry", gpus_requested=4, company=replace(A_STARTUP, size="small"))
    assert failed(submission, replace(POLICY, p1_company_sizes=("startup",))) == ["p1_company_size"]


def test_p1_accepts_sixteen_gpus_on_two_servers_and_refuses_a_third_server() -> None:
    assert failed(a_submission("P1", "industry", gpus_requested=16, servers_requested=2)) == []
    checks = check_eligibility(a_submission("P1", "industry", gpus_requested=12, servers_requested=3), POLICY)
    failing = [c for c in checks if not c.passed]
    assert [c.rule for c in failing] == ["p1_server_count"]
    assert "at most 2 servers" in failing[0].message and "needs 3" in failing[0].message


def test_p1_counts_the_servers_a_request_needs_when_it_names_none() -> None:
    assert failed(a_submission("P1", "industry", gpus_requested=16), replace(POLICY, p1_max_gpus=24)) == []
    assert failed(a_submission("P1", "industry", gpus_requested=17), replace(POLICY, p1_max_gpus=24)) \
        == ["p1_server_count"]


@pytest.mark.parametrize("sector", ["academia", "research_institute"])
def test_p2_accepts_academia_and_research_institutes_asking_for_whole_servers(sector: str) -> None:
    assert failed(a_submission("P2", sector, gpus_requested=16)) == []


@pytest.mark.parametrize("sector", ["industry", "public"])
def test_p2_refuses_applicants_outside_research(sector: str) -> None:
    assert failed(a_submission("P2", sector, gpus_requested=8)) == ["p2_research_sector"]


def test_p2_refuses_gpus_that_do_not_fill_whole_servers() -> None:
    checks = check_eligibility(a_submission("P2", gpus_requested=12), POLICY)
    failing = [c for c in checks if not c.passed]
    assert [c.rule for c in failing] == ["p2_whole_servers"]
    assert "multiple of 8" in failing[0].message


def test_p2_refuses_servers_that_do_not_match_the_gpus_requested() -> None:
    assert failed(a_submission("P2", gpus_requested=16, servers_requested=2)) == []
    checks = check_eligibility(a_submission("P2", gpus_requested=8, servers_requested=2), POLICY)
    failing = [c for c in checks if not c.passed]
    assert [c.rule for c in failing] == ["p2_whole_servers"]
    assert "2 servers are 16 GPUs, not 8" in failing[0].message


def test_the_server_size_is_the_policy_setting() -> None:
    assert failed(a_submission("P2", gpus_requested=12), replace(POLICY, server_gpus=4)) == []
    assert failed(a_submission("P2", gpus_requested=8), replace(POLICY, server_gpus=16)) == ["p2_whole_servers"]


@pytest.mark.parametrize("sector", ["industry", "academia", "research_institute", "public"])
def test_p3_accepts_any_sector(sector: str) -> None:
    assert failed(a_submission("P3", sector, gpus_requested=3, planned_gpu_hours_per_month=1000)) == []


def test_p3_accepts_a_period_of_exactly_twelve_months() -> None:
    assert failed(a_submission(period_start=date(2026, 5, 1), period_end=date(2027, 5, 1))) == []


def test_p3_refuses_a_period_one_day_longer_than_twelve_months() -> None:
    checks = check_eligibility(a_submission(period_start=date(2026, 5, 1), period_end=date(2027, 5, 2)), POLICY)
    failing = [c for c in checks if not c.passed]
    assert [c.rule for c in failing] == ["p3_period_length"]
    assert "12 months" in failing[0].message


def test_the_p3_period_limit_is_the_policy_setting() -> None:
    submission = a_submission(period_start=date(2026, 5, 1), period_end=date(2026, 9, 1))
    assert failed(submission, replace(POLICY, p3_max_period_months=3)) == ["p3_period_length"]
    assert failed(submission, replace(POLICY, p3_max_period_months=4)) == []


def test_p3_refuses_a_period_that_ended_before_the_submission() -> None:
    submission = a_submission(period_start=date(2026, 1, 1), period_end=date(2026, 4, 9))
    assert failed(submission) == ["p3_period_not_ended"]


def test_a_recheck_judges_the_period_on_its_own_day() -> None:
    submission = a_submission(period_start=date(2026, 5, 1), period_end=date(2026, 10, 31))
    assert failed(submission, on=date(2026, 10, 31)) == []
    assert failed(submission, on=date(2026, 11, 1)) == ["p3_period_not_ended"]


def test_p3_accepts_a_period_that_ends_on_the_day_of_submission() -> None:
    assert failed(a_submission(period_start=date(2026, 1, 1), period_end=date(2026, 4, 10))) == []


@pytest.mark.parametrize(("submitted_at", "ended"), [
    ("2026-04-10T23:59:00+09:00", False),  # the period's last day in Korea (14:59 UTC)
    ("2026-04-10T15:00:00+00:00", True),  # still 10 April in UTC, already 11 April in Korea
    ("2026-04-11T08:00:00+09:00", True),
])
def test_the_submission_day_is_koreas(submitted_at: str, ended: bool) -> None:
    submission = a_submission(period_start=date(2026, 1, 1), period_end=date(2026, 4, 10),
                              submitted_at=datetime.fromisoformat(submitted_at))
    assert failed(submission) == (["p3_period_not_ended"] if ended else [])


@pytest.mark.parametrize("months", [1, 2, 3, 4])
def test_p3_accepts_a_window_of_one_to_four_months(months: int) -> None:
    submission = a_submission(earliest_start=date(2026, 5, 1), acceptable_window_months=months)
    assert failed(submission) == []


@pytest.mark.parametrize("months", [0, 5])
def test_p3_refuses_a_window_outside_one_to_four_months(months: int) -> None:
    checks = check_eligibility(a_submission(earliest_start=date(2026, 5, 1), acceptable_window_months=months),
                               POLICY)
    failing = [c for c in checks if not c.passed]
    assert [c.rule for c in failing] == ["p3_window_length"]
    assert "1 to 4 months" in failing[0].message


def test_the_window_limits_are_the_policy_setting() -> None:
    submission = a_submission(earliest_start=date(2026, 5, 1), acceptable_window_months=4)
    assert failed(submission, replace(POLICY, p3_max_window_months=3)) == ["p3_window_length"]


def test_a_window_that_still_fits_before_the_period_ends_is_open() -> None:
    # 3 months from 1 August are 1 August to 31 October, the period's last day
    submission = a_submission(earliest_start=date(2026, 5, 1), acceptable_window_months=3)
    assert failed(submission, on=date(2026, 8, 1)) == []


def test_a_window_that_no_longer_fits_before_the_period_ends_has_closed() -> None:
    submission = a_submission(earliest_start=date(2026, 5, 1), acceptable_window_months=3)
    checks = check_eligibility(submission, POLICY, date(2026, 8, 2))
    failing = [c for c in checks if not c.passed]
    assert [c.rule for c in failing] == ["p3_window_open"]
    assert failing[0].message == ("the window has closed: 3 months from 2026-08-02 run to 2026-11-01, past the "
                                  "period's end on 2026-10-31")


def test_a_window_starts_no_earlier_than_the_earliest_start_the_applicant_gave() -> None:
    late_start = a_submission(earliest_start=date(2026, 8, 31), acceptable_window_months=3)
    assert failed(late_start) == ["p3_window_open"]
    assert failed(replace(late_start, acceptable_window_months=2)) == []


@pytest.mark.parametrize("program,sector,gpus", [("P1", "industry", 4), ("P2", "academia", 8),
                                                 ("P3", "public", 4)])
def test_every_program_refuses_a_period_that_does_not_end_after_it_starts(program: str, sector: str,
                                                                        gpus: int) -> None:
    submission = a_submission(program, sector, gpus_requested=gpus, planned_gpu_hours_per_month=100,
                              period_start=date(2026, 6, 1), period_end=date(2026, 6, 1))
    assert failed(submission) == ["period_order"]


def test_a_plan_of_exactly_what_the_gpus_deliver_in_a_31_day_month_passes() -> None:
    assert failed(a_submission(gpus_requested=2, planned_gpu_hours_per_month=2 * 24 * 31)) == []


def test_a_plan_above_what_the_gpus_can_deliver_is_refused_with_the_numbers() -> None:
    checks = check_eligibility(a_submission(gpus_requested=2, planned_gpu_hours_per_month=1489), POLICY)
    failing = [c for c in checks if not c.passed]
    assert [c.rule for c in failing] == ["plan_within_capacity"]
    assert "1489" in failing[0].message and "1488" in failing[0].message


def test_every_failing_rule_is_listed_not_only_the_first() -> None:
    submission = a_submission("P2", "industry", gpus_requested=12, planned_gpu_hours_per_month=99_999,
                              period_start=date(2026, 6, 1), period_end=date(2026, 5, 1))
    assert failed(submission) == ["p2_research_sector", "p2_whole_servers", "period_order",
                                  "plan_within_capacity"]


def test_a_passed_rule_states_what_it_demanded() -> None:
    checks = check_eligibility(a_submission("P1", "industry", gpus_requested=4), POLICY)
    assert {c.rule: c.message for c in checks}["p1_gpu_range"] == "P1 grants 1 to 16 GPUs"


@pytest.mark.parametrize("start,months,expected", [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),
    (date(2026, 11, 15), 3, date(2027, 2, 15)),
    (date(2026, 5, 1), 12, date(2027, 5, 1)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
    (date(2026, 1, 15), -2, date(2025, 11, 15)),
])
def test_adding_months_keeps_the_day_or_falls_to_the_month_end(start: date, months: int,
                                                                expected: date) -> None:
    assert add_months(start, months) == expected
