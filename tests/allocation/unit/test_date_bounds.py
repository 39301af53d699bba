"""Allocation's date arithmetic never raises on what the contracts let through: periods, windows and offer times
anywhere within their calendar bounds, down to the first and last bounded day."""
from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from allocation.domain.model import PROGRAM_ZONE, allocation_period, no_fit_reason
from allocation.domain.windows import min_days, next_midnight, offer_periods, window_bounds
from contracts.bounds import EARLIEST_DATE, EARLIEST_TIME, LATEST_DATE, LATEST_TIME, Instant

EXAMPLES = settings(max_examples=300, deadline=None)
EVENT_INSTANT = TypeAdapter(Instant)  # what an allocation's events carry: a period must pass as one
days = st.dates(min_value=EARLIEST_DATE, max_value=LATEST_DATE)
instants = st.datetimes(min_value=EARLIEST_TIME.replace(tzinfo=None), max_value=LATEST_TIME.replace(tzinfo=None),
                        timezones=st.just(UTC))


@EXAMPLES
@given(first=days, second=days, not_before=instants, window=st.none() | st.integers(min_value=1, max_value=4),
       lower=st.none() | days, upper=st.none() | days)
def test_periods_windows_and_offers_within_the_bounds_never_overflow(
        first: date, second: date, not_before: datetime, window: int | None, lower: date | None,
        upper: date | None) -> None:
    start_day, end_day = min(first, second), max(first, second)
    period = allocation_period(start_day, end_day)
    assert period[0] < period[1]
    assert [EVENT_INSTANT.validate_python(end) for end in period] == list(period)
    assert str(end_day) in no_fit_reason(1, 0, "H100", "P3", period)
    lo, hi = (min(lower, upper), max(lower, upper)) if lower and upper else (lower, upper)
    for offered in offer_periods(period, not_before, min_days(window), [window_bounds(lo, hi)]):
        assert period[0] <= offered[0] < offered[1] <= period[1]
    assert next_midnight(not_before) >= not_before


def test_the_first_and_last_bounded_days_make_a_period_and_a_next_midnight() -> None:
    # whole days in Korea: 00:00 there is 15:00 UTC the day before (in 1900, Seoul's mean time: 15:32:08)
    whole = allocation_period(EARLIEST_DATE, LATEST_DATE)
    assert whole == (datetime(1900, 1, 1, tzinfo=PROGRAM_ZONE), datetime(2199, 12, 31, 15, tzinfo=UTC))
    assert EVENT_INSTANT.validate_python(whole[0]) == whole[0] > EARLIEST_TIME  # an event can carry it
    assert next_midnight(LATEST_TIME) == datetime(2200, 1, 1, 15, tzinfo=UTC)  # LATEST_TIME is 2200-01-01 in Korea
    assert window_bounds(LATEST_DATE, LATEST_DATE)[1] == datetime(2199, 12, 31, 15, tzinfo=UTC)
