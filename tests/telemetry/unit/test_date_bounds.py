"""Telemetry's windows and grace periods never overflow: a window reaching back past the calendar's start begins at
it, and a grace period past its end never runs out."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.bounds import EARLIEST_TIME, LATEST_TIME
from telemetry.domain.model import Window, shifted

instants = st.datetimes(min_value=EARLIEST_TIME.replace(tzinfo=None), max_value=LATEST_TIME.replace(tzinfo=None),
                        timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(at=instants, days=st.integers(min_value=-10**12, max_value=10**12))
def test_shifting_a_bounded_instant_by_any_days_stays_in_the_calendar(at: datetime, days: int) -> None:
    moved = shifted(at, days)
    assert moved.tzinfo is not None
    assert (moved >= at) == (days >= 0)


def test_a_window_longer_than_the_calendar_starts_at_its_first_instant() -> None:
    window = Window.ending_at(EARLIEST_TIME, 7, 50.0, 1)
    assert window.start == EARLIEST_TIME - timedelta(days=7)
    assert Window.ending_at(LATEST_TIME, 10**9, 50.0, 1).start == datetime.min.replace(tzinfo=UTC)


def test_a_grace_period_past_the_calendar_end_never_runs_out() -> None:
    assert shifted(LATEST_TIME, 10**7) == datetime.max.replace(tzinfo=UTC)
