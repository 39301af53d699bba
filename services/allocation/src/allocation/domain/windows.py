"""When a server serves which pool (availability windows), and which periods a waiting request may be offered.

A window is a half-open interval of instants; None at either end means unbounded. Windows given in days are whole days
on the programs' calendar (Korea's), as periods are. A government server idle until the national
project it was bought for starts is a window in pool P3 from the day it is ready to the day the project starts.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from uuid import UUID

from allocation.domain.errors import InvalidInput
from allocation.domain.model import ProgramCode, day_start, program_day

Period = tuple[datetime, datetime]
DAY = timedelta(days=1)
MONTH_DAYS = 30


@dataclass(frozen=True)
class Window:
    id: UUID
    server_id: UUID
    pool: ProgramCode
    starts_at: datetime | None
    ends_at: datetime | None
    note: str = ""

    def __post_init__(self) -> None:
        if self.starts_at is not None and self.ends_at is not None and self.ends_at <= self.starts_at:
            raise InvalidInput("ends_on", "the window must end after it starts")

    def ending(self, ends_at: datetime | None) -> Window:
        return replace(self, ends_at=ends_at)

    def cut_by(self, other: Window) -> tuple[datetime, datetime | None] | None:
        """The time at the end of this window that `other` (the same window ending earlier) no longer covers."""
        if other.ends_at is None or (self.ends_at is not None and self.ends_at <= other.ends_at):
            return None
        return other.ends_at, self.ends_at


def window_bounds(starts_on: date | None, ends_on: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole days in Korea: from `starts_on` 00:00 to the end of `ends_on` (inclusive), either end open."""
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise InvalidInput("ends_on", "must not be before starts_on")
    return (day_start(starts_on) if starts_on else None, day_start(ends_on + DAY) if ends_on else None)


def next_midnight(at: datetime) -> datetime:
    """The first 00:00 in Korea at or after `at`: an offer starts on a whole day, never in the past."""
    today = program_day(at)
    return at if day_start(today) == at else day_start(today + DAY)


def offer_periods(requested: Period, not_before: datetime, min_days: int | None,
                  windows: list[tuple[datetime | None, datetime | None]]) -> list[Period]:
    """The periods worth trying for a waiting request, best first.

    First what is left of the requested period from `not_before`. When the applicant accepts a shorter window
    (`min_days`), also each availability window cut to the requested period, longest first, then earliest; a period
    shorter than `min_days` (or, without it, shorter than what is left of the request) is never offered.
    """
    start, end = max(requested[0], next_midnight(not_before)), requested[1]
    if end <= start:
        return []
    shortest = timedelta(days=min_days) if min_days else end - start
    found = [(start, end)]
    for lower, upper in windows:
        cut = (max(start, lower or start), min(end, upper or end))
        if cut[1] - cut[0] >= shortest and cut not in found:
            found.append(cut)
    return [found[0], *sorted(found[1:], key=lambda p: (-(p[1] - p[0]), p[0]))]


def min_days(acceptable_window_months: int | None) -> int | None:
    return acceptable_window_months * MONTH_DAYS if acceptable_window_months else None
