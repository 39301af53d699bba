"""The horizon of planned dates: a period or earliest start beyond the configured years ahead is a typo, named."""
from datetime import date

import pytest

from intake.domain.forms import Applicant, Form, Limits, add_months, form_problems

TODAY = date(2026, 11, 27)
P3: dict[str, object] = dict(
    program="P3", applicant=Applicant("A", "academia", "KAIST", "Daejeon"), gpu_model="H100",
    period_start=date(2027, 1, 1), period_end=date(2027, 3, 31), planned_gpu_hours_per_month=1000,
    purpose="training", gpus_requested=4, earliest_start=date(2027, 1, 1), acceptable_window_months=3,
)


DEFAULT_LIMITS = Limits()


def problems(limits: Limits = DEFAULT_LIMITS, **overrides: object) -> list[tuple[str, str]]:
    return form_problems(Form(**{**P3, **overrides}), TODAY, limits)  # type: ignore[arg-type]


def test_a_period_ending_on_the_last_day_of_the_horizon_is_accepted() -> None:
    assert problems(period_end=date(2036, 11, 27)) == []


@pytest.mark.parametrize("field", ["period_start", "period_end", "earliest_start"])
def test_a_planned_date_past_the_horizon_is_refused_naming_the_field(field: str) -> None:
    far = {"period_start": date(2036, 11, 28), "period_end": date(2037, 6, 30), "earliest_start": date(2036, 11, 28)}
    dates = {"period_start": date(2027, 1, 1), "period_end": date(2027, 3, 31), "earliest_start": date(2027, 1, 1)}
    dates[field] = far[field]
    if field != "period_end":  # keep the period in order, so the horizon is the only rule broken
        dates["period_end"] = far["period_end"]
    reasons = dict(problems(**dates))
    assert "more than 10 years ahead (after 2036-11-27)" in reasons[field]


def test_the_horizon_follows_the_configured_years() -> None:
    assert [f for f, _ in problems(Limits(max_years_ahead=1), period_end=date(2027, 11, 28))] == ["period_end"]
    assert problems(Limits(max_years_ahead=1), period_end=date(2027, 11, 27)) == []


def test_adding_months_past_the_calendar_end_stops_at_its_last_day() -> None:
    assert add_months(date(9999, 12, 1), 1) == date.max
    assert add_months(date(1, 1, 31), -1) == date.min
    assert add_months(TODAY, 12 * 10) == date(2036, 11, 27)
