"""The views' arithmetic on the groups the database counts, without a database: balance shares and the top
institutions, the early-career reserve, the facts evaluation found, GPU-months of demand, the waitlist's age,
occupancy buckets, and the sweep that spreads spans over periods. (Who stands on the reclaim ladder is judged in the
database: tests/dashboard/integration/test_views.py.)"""
from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from dashboard.domain import views
from dashboard.domain.views import Change, Counted, FactGroup, RoundGroup, RoundResult, Waitlisted

AT = datetime(2026, 12, 1, tzinfo=UTC)
Span = tuple[tuple[str, ...], int, int, int]  # key, start, stop (in the bounds' unit), GPUs


def counted(applications: int = 1, gpus_requested: int = 8, gpus_allocated: int = 0,
            allocated: int | None = None) -> Counted:
    return Counted(applications, gpus_requested, gpus_allocated,
                   allocated if allocated is not None else (applications if gpus_allocated else 0))


def changes_of(spans: Iterable[Span], bounds: Sequence[int]) -> list[Change]:
    """What the database hands over for spans (repository_views._changes): each span clipped to the bounds, +GPUs
    where it starts and -GPUs where it stops, placed by how many bounds are at or before it (width_bucket)."""
    found = []
    for key, start, stop, gpus in spans:
        start, stop = max(start, bounds[0]), min(stop, bounds[-1])
        held = gpus if start < stop else 0
        found += [Change(key, bisect.bisect_right(bounds, start), held, held * start),
                  Change(key, bisect.bisect_right(bounds, stop), -held, -held * stop)]
    return found


def test_each_group_s_share_is_its_part_of_the_whole_and_an_empty_whole_shares_nothing() -> None:
    groups = [(True, counted(gpus_requested=8, gpus_allocated=8)),
              (False, counted(gpus_requested=16, gpus_allocated=8)),
              (False, counted(gpus_requested=8)), (None, counted(gpus_requested=4))]
    whole = views.total(c for _, c in groups)
    by_region = {t.key: t for t in views.tally_by((views.region_of(capital), c) for capital, c in groups)}
    assert (whole.applications, whole.gpus_requested, whole.gpus_allocated) == (4, 36, 16)
    assert by_region["non_capital"].shares(whole) == (0.5, round(24 / 36, 4), 0.5)
    assert by_region["capital"].shares(whole) == (0.25, round(8 / 36, 4), 0.5)
    assert by_region["unknown"].shares(whole) == (0.25, round(4 / 36, 4), 0.0)
    assert views.Tally("x", 3, 3, 3).shares(views.Tally("none")) == (0.0, 0.0, 0.0)


def test_the_ten_largest_institutions_by_gpus_allocated_are_named_and_the_rest_summed_as_others() -> None:
    groups = [(f"inst-{i:02d}", counted(gpus_allocated=8 * i, gpus_requested=8 * i + 1)) for i in range(1, 13)]
    tallies = views.top(views.tally_by((views.institution_of(name), c) for name, c in groups))
    assert [t.key for t in tallies] == [f"inst-{i:02d}" for i in range(12, 2, -1)] + ["others"]
    others = tallies[-1]
    assert (others.applications, others.gpus_allocated, others.gpus_requested) == (2, 8 + 16, 9 + 17)
    assert sum(t.gpus_allocated for t in tallies) == sum(c.gpus_allocated for _, c in groups)
    assert views.top(views.tally_by(groups[:3])) == views.tally_by(groups[:3])


def test_groups_named_alike_are_one_tally_and_ties_go_by_name() -> None:
    """An institution not told and one told as empty are both `unknown`; equal tallies are ordered by name."""
    groups = [(None, counted(2, 10)), ("", counted(1, 5)), ("unknown", counted(1, 1)), ("B", counted(1, 8)),
              ("A", counted(1, 8))]
    tallies = views.tally_by((views.institution_of(name), c) for name, c in groups)
    assert [(t.key, t.applications, t.gpus_requested) for t in tallies] == [
        ("unknown", 4, 16), ("A", 1, 8), ("B", 1, 8)]


def test_a_company_size_is_p1_s_and_none_without_a_company_unknown_before_the_submission_is_read() -> None:
    assert views.company_size_of("startup", submitted=True) == "startup"
    assert views.company_size_of(None, submitted=True) == "none"
    assert views.company_size_of("", submitted=True) == "none"
    assert views.company_size_of(None, submitted=False) == "unknown"
    assert (views.region_of(None), views.sector_of(None), views.sector_of("")) == ("unknown",) * 3


def a_round(**fields: Any) -> RoundResult:
    base: dict[str, Any] = {"call_id": uuid4(), "program": "P2", "selected": 3, "waitlisted": 1,
                            "gpus_awarded": 40, "reserve_gpus": 16, "reserve_gpus_used": 8, "selected_at": AT}
    return RoundResult(**{**base, **fields})


def test_the_early_career_reserve_spills_what_was_not_used_and_counts_what_the_track_won_besides() -> None:
    found = a_round()
    call = found.call_id
    # the round's grants: two early-career ones (8 and 16 GPUs), one general (16)
    granted = [RoundGroup(call, placed=True, early_career=True, counted=counted(2, 24, 24)),
               RoundGroup(call, placed=True, early_career=False, counted=counted(1, 16, 16))]
    later = [RoundGroup(call, placed=False, early_career=True, counted=counted(1, 8, 8)),  # freed capacity, or no track
             RoundGroup(uuid4(), placed=True, early_career=True, counted=counted(1, 32, 32))]  # another call
    use = views.reserve_use(found, granted + later)
    assert found.spilled_over == found.reserve_gpus - found.reserve_gpus_used
    assert use.early_career_gpus == 8 + 16
    assert use.won_in_general == 8 + 16 - found.reserve_gpus_used
    # one grant of the round not read yet (or read without its track): not derivable
    assert views.reserve_use(found, granted[:1] + later).won_in_general is None
    # the track won nothing beyond the reserve: never below zero
    assert views.reserve_use(a_round(call_id=call, reserve_gpus_used=30), granted).won_in_general == 0


def test_the_facts_evaluation_found_are_counted_against_their_program_s_scored_and_allocated() -> None:
    groups = [FactGroup("P1", ("youth_company", "regional_company"), counted(1, 8, 8)),
              FactGroup("P1", ("regional_company",), counted(1, 4, 4)),
              FactGroup("P1", (), counted(1, 16, 12)),
              FactGroup("P1", ("youth_company",), counted(1, 2)),
              FactGroup("P1", None, counted(1, 1, 1)),  # not scored: facts unknown
              FactGroup("P2", ("early_career",), counted(1, 8, 8))]
    tallies = {t.fact: t for t in views.fact_tallies(groups)}
    youth = tallies["youth_company"]
    assert (youth.program, youth.scored, youth.applications, youth.gpus_requested) == ("P1", 4, 2, 10)
    assert (youth.allocated, youth.gpus_allocated) == (1, 8)
    assert (youth.program_allocated, youth.program_gpus_allocated) == (4, 8 + 4 + 12 + 1)
    regional = tallies["regional_company"]
    assert (regional.applications, regional.allocated, regional.gpus_allocated) == (2, 2, 12)
    early = tallies["early_career"]
    assert (early.program, early.scored, early.applications, early.gpus_allocated) == ("P2", 1, 1, 8)
    assert tallies["non_capital_region"].applications == 0


@pytest.mark.parametrize(("start", "end", "month", "expected"), [
    (date(2026, 12, 1), date(2026, 12, 31), date(2026, 12, 1), 4.0),        # the whole month
    (date(2026, 11, 1), date(2027, 3, 31), date(2027, 2, 1), 4.0),          # a month inside a longer period
    (date(2027, 2, 15), date(2027, 2, 28), date(2027, 2, 1), 4 * 14 / 28),  # half of February
    (date(2026, 12, 1), date(2026, 12, 1), date(2026, 12, 1), 4 / 31),      # one day
    (date(2027, 1, 1), date(2027, 1, 31), date(2026, 12, 1), 0.0),          # not in that month
])
def test_a_request_s_gpu_months_are_its_gpus_times_the_share_of_the_month_it_covers(
        start: date, end: date, month: date, expected: float) -> None:
    bounds = views.month_bounds([month])
    days = [(day - month).days for day in bounds]
    spans = [(("H100",), (start - month).days, (end - month).days + 1, 4)]  # to the day after its last
    found = views.demand(changes_of(spans, days), [month])
    assert found.by_key["H100",] == [round(expected, 2)]
    assert views.gpu_months(4 * 31, date(2026, 12, 1)) == 4.0


def asked(months: Sequence[date], *requests: tuple[str, int, date, date]) -> list[Change]:
    """The changes of requests (model, GPUs, first and last day) at the months' bounds, in days from the first."""
    first = months[0]
    bounds = [(day - first).days for day in views.month_bounds(months)]
    return changes_of([((model,), (start - first).days, (end - first).days + 1, gpus)
                       for model, gpus, start, end in requests], bounds)


def test_demand_adds_up_each_model_s_gpu_months_month_by_month_across_a_year_end() -> None:
    months = views.months_from(date(2026, 11, 20), 3)
    assert months == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]
    found = views.demand(asked(months, ("H100", 4, date(2026, 12, 1), date(2027, 6, 30)),
                               ("H100", 2, date(2026, 11, 16), date(2026, 11, 30)),
                               ("B200", 8, date(2027, 1, 1), date(2027, 1, 31)),
                               ("A100", 1, date(2026, 12, 10), date(2026, 12, 5))),  # ends before it starts
                         months)
    assert list(found.by_key) == [("A100",), ("B200",), ("H100",)]  # asked for, if nothing
    assert found.by_key["H100",] == [round(2 * 15 / 30, 2), 4.0, 4.0]
    assert found.by_key["B200",] == [0.0, 0.0, 8.0]
    assert found.by_key["A100",] == [0.0, 0.0, 0.0]
    assert found.totals == [round(2 * 15 / 30, 2), 4.0, 12.0]


def test_spreading_spans_over_periods_gives_each_period_its_overlap_whatever_the_order() -> None:
    rng = random.Random(7)
    bounds = sorted(rng.sample(range(0, 1000), 12))
    spans: list[Span] = [((rng.choice("ab"),), rng.randrange(-100, 1100), rng.randrange(-100, 1100),
                          rng.randrange(0, 9)) for _ in range(200)]
    changes = changes_of(spans, bounds)
    rng.shuffle(changes)
    expected: dict[tuple[str, ...], list[int]] = {}
    for key, start, stop, gpus in spans:
        row = expected.setdefault(key, [0] * (len(bounds) - 1))
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            row[i] += gpus * max(0, min(stop, hi) - max(start, lo))
    assert views.spread(changes, bounds) == expected


def waitlisted(program: str | None, now: datetime, *ages: timedelta, gpus: int = 0) -> Waitlisted:
    """What the database counts of applications waitlisted `ages` ago: the oldest, the one or two in the middle."""
    since = sorted(now - age for age in ages)
    n = len(since)
    return Waitlisted(program, n, gpus, since[0] if since else None,
                      (since[n - 1 - (n - 1) // 2], since[(n - 1) // 2]) if since else None)


def test_the_waitlist_s_depth_and_age_per_program_as_of_now() -> None:
    now = AT + timedelta(days=10)
    every = waitlisted(None, now, timedelta(days=6), timedelta(days=2), timedelta(hours=12), gpus=14)
    programs = [waitlisted("P3", now, timedelta(days=6), timedelta(days=2), gpus=12),
                waitlisted("P1", now, timedelta(hours=12), gpus=2)]
    whole, per_program = views.waitlist(every, programs, now)
    assert (whole.applications, whole.gpus, whole.oldest_since) == (3, 14, now - timedelta(days=6))
    assert (whole.oldest_days, whole.median_days) == (6.0, 2.0)
    assert [(p.program, p.applications, p.gpus, p.oldest_days, p.median_days) for p in per_program] == [
        ("P1", 1, 2, 0.5, 0.5), ("P3", 2, 12, 6.0, 4.0)]
    empty, none = views.waitlist(Waitlisted(None, 0, 0, None, None), [], now)
    assert (empty.applications, empty.oldest_since, empty.median_days, none) == (0, None, None, [])


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    assert views.buckets(date(2026, 12, 2), date(2026, 12, 15), "week") == [
        date(2026, 11, 30), date(2026, 12, 7), date(2026, 12, 14)]
    assert views.buckets(date(2026, 11, 15), date(2027, 2, 1), "month") == [
        date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]
    assert views.bucket_bounds([date(2026, 11, 30)], "week") == [
        datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 7, tzinfo=UTC)]


@pytest.mark.parametrize(("start", "end", "step", "field"), [
    (date(2027, 1, 1), date(2027, 1, 1), "week", "end"),
    (date(2027, 1, 1), date(2026, 12, 1), "month", "end"),
    (date(2026, 1, 1), date(2026, 1, 1) + timedelta(days=views.MAX_RANGE_DAYS + 1), "month", "end"),
])
def test_an_empty_or_too_long_range_is_refused_naming_the_field(start: date, end: date, step: views.Step,
                                                                  field: str) -> None:
    [(named, _)] = views.range_problems(start, end, step)
    assert named == field


def test_two_years_of_weeks_are_within_the_bounds() -> None:
    start = date(2026, 1, 1)
    assert views.range_problems(start, start + timedelta(days=views.MAX_RANGE_DAYS), "week") == []
    assert len(views.buckets(start, start + timedelta(days=views.MAX_RANGE_DAYS), "week")) <= views.MAX_BUCKETS


def test_occupancy_is_the_gpus_held_on_average_over_each_bucket_per_model_and_csp() -> None:
    monday = datetime(2026, 11, 30, tzinfo=UTC)
    starts = views.buckets(monday.date(), monday.date() + timedelta(days=21), "week")
    bounds = views.bucket_bounds(starts, "week")

    def micros(at: datetime) -> int:
        return (at - bounds[0]) // views.MICROSECOND

    held = [(("H100", "alpha"), monday, monday + timedelta(days=10), 3),  # a week and three days
            (("H100", "beta"), monday, monday + timedelta(days=10), 1),
            (("B200", "alpha"), monday - timedelta(days=30), monday + timedelta(days=1), 8)]
    found = views.occupancy(changes_of([(key, micros(s), micros(u), g) for key, s, u, g in held],
                                       [micros(b) for b in bounds]), starts, "week")
    assert found.by_key == {("B200", "alpha"): [round(8 / 7, 3), 0.0, 0.0],
                            ("H100", "alpha"): [3.0, round(3 * 3 / 7, 3), 0.0],
                            ("H100", "beta"): [1.0, round(3 / 7, 3), 0.0]}
    assert found.totals == [round(4 + 8 / 7, 3), round(4 * 3 / 7, 3), 0.0]  # from the exact sums
