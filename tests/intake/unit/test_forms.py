"""The rules each program's form must meet, without a database."""
from datetime import date
from uuid import uuid4

import pytest

from intake.domain.forms import (
    Applicant,
    Company,
    CorporateParticipant,
    Form,
    Limits,
    Researcher,
    add_months,
    form_problems,
)

TODAY = date(2026, 11, 27)
COMPANY = Company("1234567891", "startup", "Busan", date(1992, 3, 14))
RESEARCHER = Researcher("university", date(2022, 3, 1), date(1988, 7, 21))
COMMON: dict[str, object] = dict(
    applicant=Applicant("A", "industry", "Haneul AI", "Busan"), gpu_model="H100", period_start=date(2027, 1, 1),
    period_end=date(2027, 3, 31), planned_gpu_hours_per_month=1000, purpose="training",
)
VALID: dict[str, dict[str, object]] = {
    "P1": dict(program="P1", call_id=uuid4(), company=COMPANY, gpus_requested=16, training_data_scale="1 TB"),
    "P2": dict(program="P2", call_id=uuid4(), researcher=RESEARCHER, servers_requested=1),
    "P3": dict(program="P3", gpus_requested=4, earliest_start=date(2027, 1, 1), acceptable_window_months=3),
}


DEFAULT_LIMITS = Limits()


def problems(program: str, limits: Limits = DEFAULT_LIMITS, **overrides: object) -> list[tuple[str, str]]:
    form = Form(**{**COMMON, **VALID[program], **overrides})  # type: ignore[arg-type]
    return form_problems(form, TODAY, limits)


def fields(program: str, limits: Limits = DEFAULT_LIMITS, **overrides: object) -> list[str]:
    return [field for field, _ in problems(program, limits, **overrides)]


@pytest.mark.parametrize("program", ["P1", "P2", "P3"])
def test_a_valid_form_of_each_program_breaks_no_rule(program: str) -> None:
    assert problems(program) == []


def test_p1_grants_sixteen_gpus_but_not_seventeen() -> None:
    assert fields("P1", gpus_requested=17) == ["gpus_requested"]
    assert "1 to 16 GPUs" in problems("P1", gpus_requested=17)[0][1]


def test_p1_grants_at_most_two_servers_worth_of_gpus_for_the_configured_server_size() -> None:
    small_servers = Limits(server_gpus=4)
    assert fields("P1", small_servers, gpus_requested=8) == []
    assert fields("P1", small_servers, gpus_requested=9) == ["gpus_requested"]


def test_p1_needs_its_company() -> None:
    assert fields("P1", company=None) == ["company"]


def test_a_representative_born_in_the_future_is_refused() -> None:
    company = Company("1234567891", "small", "Busan", date(2026, 11, 28))
    assert fields("P1", company=company) == ["company.representative_birth_date"]


def test_p2_refuses_a_request_in_single_gpus() -> None:
    assert fields("P2", gpus_requested=8) == ["gpus_requested"]


def test_p2_needs_servers_and_a_lead_researcher() -> None:
    assert fields("P2", servers_requested=None, researcher=None) == ["servers_requested", "researcher"]


def test_a_researcher_born_in_the_future_is_refused() -> None:
    researcher = Researcher("university", date(2026, 12, 1), date(2026, 12, 2))
    assert fields("P2", researcher=researcher) == ["researcher.birth_date", "researcher.appointment_date"]


def test_a_researcher_appointed_before_birth_is_refused() -> None:
    researcher = Researcher("university", date(1980, 1, 1), date(1988, 7, 21))
    assert fields("P2", researcher=researcher) == ["researcher.appointment_date"]


def test_an_appointment_in_the_future_is_refused() -> None:
    researcher = Researcher("research_institute", date(2027, 3, 1), date(1988, 7, 21))
    assert fields("P2", researcher=researcher) == ["researcher.appointment_date"]


def participants(*parts: tuple[str | None, int | None]) -> tuple[CorporateParticipant, ...]:
    """Participants of a P2 project, each (business registration number, project share in basis points)."""
    return tuple(CorporateParticipant(f"Co{i}", "mid", number, share) for i, (number, share) in enumerate(parts))


@pytest.mark.parametrize("parts", [
    (),
    (("1234567891", None), ("2208162517", None)),
    ((None, None), (None, None)),
    (("1234567891", 6000), ("2208162517", 4000)),
    (("1234567891", 10_000),),
    ((None, 1), (None, 1)),
], ids=["none", "numbers-no-shares", "neither", "shares-of-the-whole", "one-with-the-whole", "shares-of-less"])
def test_p2_participants_give_shares_on_all_or_none_within_the_whole_project(
        parts: tuple[tuple[str | None, int | None], ...]) -> None:
    assert problems("P2", corporate_participants=participants(*parts)) == []


def test_a_p2_participant_without_a_share_beside_one_with_a_share_is_refused_by_its_path() -> None:
    found = problems("P2", corporate_participants=participants((None, 5000), (None, None), (None, 5000)))
    assert found == [("corporate_participants.1.project_share_bp",
                      "is missing while corporate_participants.0 gives one: give a project share for every "
                      "participant or for none (none: the project is split equally)")]


def test_p2_shares_beyond_the_whole_project_are_refused() -> None:
    found = problems("P2", corporate_participants=participants((None, 6000), (None, 4001)))
    assert [field for field, _ in found] == ["corporate_participants"]
    assert "sum to 10001 basis points; at most 10000" in found[0][1]


def test_a_business_registration_number_given_twice_is_refused_at_its_second_place() -> None:
    found = problems("P2", corporate_participants=participants(("1234567891", None), (None, None),
                                                               ("1234567891", None)))
    assert found == [("corporate_participants.2.business_registration_number",
                      "1234567891 is already corporate_participants.0's: a company takes part once")]


def test_p3_takes_gpus_or_servers_but_not_both_and_not_neither() -> None:
    assert fields("P3", gpus_requested=None, servers_requested=1) == []
    assert fields("P3", servers_requested=1) == ["servers_requested"]
    assert fields("P3", gpus_requested=None) == ["gpus_requested"]


@pytest.mark.parametrize("months", [1, 4])
def test_p3_accepts_a_window_of_one_to_four_months(months: int) -> None:
    end = add_months(date(2027, 1, 1), months)
    assert fields("P3", acceptable_window_months=months, period_end=end) == []


@pytest.mark.parametrize("months", [0, 5])
def test_p3_refuses_a_window_outside_one_to_four_months(months: int) -> None:
    assert fields("P3", acceptable_window_months=months) == ["acceptable_window_months"]


def test_a_p3_period_must_leave_room_for_the_whole_window() -> None:
    assert fields("P3", period_end=date(2027, 3, 31)) == []  # 1 Jan + 3 months: its last day is 31 Mar
    assert fields("P3", period_end=date(2027, 3, 30)) == ["period_end"]
    assert fields("P3", period_end=date(2027, 6, 30)) == []  # a longer period leaves room to place it


def test_a_p3_period_cannot_start_before_the_earliest_start() -> None:
    assert fields("P3", period_start=date(2026, 12, 31)) == ["period_start"]


def test_p3_needs_an_earliest_start() -> None:
    assert fields("P3", earliest_start=None) == ["earliest_start"]


def test_a_period_that_ends_before_it_starts_is_refused_naming_period_end() -> None:
    assert fields("P1", period_end=date(2026, 12, 1)) == ["period_end"]


def test_a_month_later_is_the_last_day_of_a_shorter_month() -> None:
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_a_p1_company_whose_registration_number_fails_its_check_digit_is_refused_by_its_path() -> None:
    found = problems("P1", company=Company("1234567890", "startup", "Busan", date(1992, 3, 14)))
    assert found == [("company.business_registration_number",
                      "1234567890 has a wrong check digit (its last digit): it is not a business registration "
                      "number")]


def test_a_p2_participant_whose_registration_number_fails_its_check_digit_is_refused_by_its_path() -> None:
    found = problems("P2", corporate_participants=participants(("2208162517", None), (None, None),
                                                               ("2208162518", None)))
    assert [(field, "check digit" in reason) for field, reason in found] == [
        ("corporate_participants.2.business_registration_number", True)]
