"""The views' arithmetic, without a database: balance shares and the top institutions, the early-career reserve,
the facts evaluation found, GPU-months of demand, the waitlist's age, occupancy buckets and who stands on the
reclaim ladder."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from dashboard.domain import views
from dashboard.domain.views import (
    AllocationInfo,
    BalanceRow,
    Held,
    LadderKind,
    LadderStep,
    Request,
    RoundResult,
    Waiting,
)

AT = datetime(2026, 12, 1, tzinfo=UTC)


def row(**fields: Any) -> BalanceRow:
    base: dict[str, Any] = {"program": "P2", "call_id": None, "institution": "KAIST", "sector": "academia",
                            "company_size": None, "capital": False, "track": "general", "facts": (),
                            "gpus_requested": 8, "gpus_allocated": 0, "offered": False}
    return BalanceRow(**{**base, **fields})


def test_each_group_s_share_is_its_part_of_the_whole_and_an_empty_whole_shares_nothing() -> None:
    rows = [row(capital=True, gpus_requested=8, gpus_allocated=8), row(capital=False, gpus_requested=16,
                                                                       gpus_allocated=8),
            row(capital=False, gpus_requested=8), row(capital=None, gpus_requested=4)]
    whole = views.total(rows)
    by_region = {t.key: t for t in views.tally_by(rows, views.region_of)}
    assert (whole.applications, whole.gpus_requested, whole.gpus_allocated) == (4, 36, 16)
    assert by_region["non_capital"].shares(whole) == (0.5, round(24 / 36, 4), 0.5)
    assert by_region["capital"].shares(whole) == (0.25, round(8 / 36, 4), 0.5)
    assert by_region["unknown"].shares(whole) == (0.25, round(4 / 36, 4), 0.0)
    assert views.Tally("x", 3, 3, 3).shares(views.Tally("none")) == (0.0, 0.0, 0.0)


def test_the_ten_largest_institutions_by_gpus_allocated_are_named_and_the_rest_summed_as_others() -> None:
    rows = [row(institution=f"inst-{i:02d}", gpus_allocated=8 * i, gpus_requested=8 * i + 1) for i in range(1, 13)]
    tallies = views.top(views.tally_by(rows, views.institution_of))
    assert [t.key for t in tallies] == [f"inst-{i:02d}" for i in range(12, 2, -1)] + ["others"]
    others = tallies[-1]
    assert (others.applications, others.gpus_allocated, others.gpus_requested) == (2, 8 + 16, 9 + 17)
    assert sum(t.gpus_allocated for t in tallies) == sum(r.gpus_allocated for r in rows)
    assert views.top(views.tally_by(rows[:3], views.institution_of)) == views.tally_by(rows[:3],
                                                                                         views.institution_of)


def test_a_company_size_is_p1_s_and_none_without_a_company_unknown_before_the_submission_is_read() -> None:
    assert views.company_size_of(row(company_size="startup")) == "startup"
    assert views.company_size_of(row(company_size=None)) == "none"
    assert views.company_size_of(row(company_size=None, submitted=False)) == "unknown"


def a_round(**fields: Any) -> RoundResult:
    base: dict[str, Any] = {"call_id": uuid4(), "program": "P2", "selected": 3, "waitlisted": 1,
                            "gpus_awarded": 40, "reserve_gpus": 16, "reserve_gpus_used": 8, "selected_at": AT}
    return RoundResult(**{**base, **fields})


def test_the_early_career_reserve_spills_what_was_not_used_and_counts_what_the_track_won_besides() -> None:
    found = a_round()
    call = found.call_id
    granted = [row(call_id=call, track="early_career", gpus_allocated=8),
               row(call_id=call, track="early_career", gpus_allocated=16),
               row(call_id=call, track="general", gpus_allocated=16)]
    later = [row(call_id=call, track="early_career", gpus_allocated=8, offered=True),  # freed capacity, not the round
             row(call_id=uuid4(), track="early_career", gpus_allocated=32)]           # another call
    use = views.reserve_use(found, granted + later)
    assert found.spilled_over == found.reserve_gpus - found.reserve_gpus_used
    assert use.early_career_gpus == 8 + 16
    assert use.won_in_general == 8 + 16 - found.reserve_gpus_used
    # one grant of the round not read yet (or read without its track): not derivable
    assert views.reserve_use(found, granted[:2]).won_in_general is None
    assert views.reserve_use(found, [*granted[:2], row(call_id=call, track=None, gpus_allocated=16)]
                             ).early_career_gpus is None
    # the track won nothing beyond the reserve: never below zero
    assert views.reserve_use(a_round(call_id=call, reserve_gpus_used=30), granted).won_in_general == 0


def test_the_facts_evaluation_found_are_counted_against_their_program_s_scored_and_allocated() -> None:
    rows = [row(program="P1", facts=("youth_company", "regional_company"), gpus_requested=8, gpus_allocated=8),
            row(program="P1", facts=("regional_company",), gpus_requested=4, gpus_allocated=4),
            row(program="P1", facts=(), gpus_requested=16, gpus_allocated=12),
            row(program="P1", facts=("youth_company",), gpus_requested=2),
            row(program="P1", facts=None, gpus_requested=1, gpus_allocated=1),  # not scored: facts unknown
            row(program="P2", facts=("early_career",), gpus_allocated=8)]
    tallies = {t.fact: t for t in views.fact_tallies(rows)}
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
    assert views.gpu_months(Request("H100", 4, start, end), month) == pytest.approx(expected)


def test_demand_adds_up_each_model_s_gpu_months_month_by_month_across_a_year_end() -> None:
    months = views.months_from(date(2026, 11, 20), 3)
    assert months == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]
    found = views.demand([Request("H100", 4, date(2026, 12, 1), date(2027, 6, 30)),
                          Request("H100", 2, date(2026, 11, 16), date(2026, 11, 30)),
                          Request("B200", 8, date(2027, 1, 1), date(2027, 1, 31))], months)
    assert list(found.by_key) == [("B200",), ("H100",)]
    assert found.by_key["H100",] == [round(2 * 15 / 30, 2), 4.0, 4.0]
    assert found.by_key["B200",] == [0.0, 0.0, 8.0]
    assert found.totals == [round(2 * 15 / 30, 2), 4.0, 12.0]


def test_the_waitlist_s_depth_and_age_per_program_as_of_now() -> None:
    now = AT + timedelta(days=10)
    waiting = [Waiting("P3", 4, now - timedelta(days=6)), Waiting("P3", 8, now - timedelta(days=2)),
               Waiting("P1", 2, now - timedelta(hours=12))]
    whole, programs = views.waitlist(waiting, now)
    assert (whole.applications, whole.gpus, whole.oldest_since) == (3, 14, now - timedelta(days=6))
    assert (whole.oldest_days, whole.median_days) == (6.0, 2.0)
    assert [(p.program, p.applications, p.gpus, p.oldest_days, p.median_days) for p in programs] == [
        ("P1", 1, 2, 0.5, 0.5), ("P3", 2, 12, 6.0, 4.0)]
    empty, none = views.waitlist([], now)
    assert (empty.applications, empty.oldest_since, empty.median_days, none) == (0, None, None, [])


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    assert views.buckets(date(2026, 12, 2), date(2026, 12, 15), "week") == [
        date(2026, 11, 30), date(2026, 12, 7), date(2026, 12, 14)]
    assert views.buckets(date(2026, 11, 15), date(2027, 2, 1), "month") == [
        date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]


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
    held = [Held("H100", "alpha", 3, monday, monday + timedelta(days=10)),  # a week and three days
            Held("H100", "beta", 1, monday, monday + timedelta(days=10)),
            Held("B200", "alpha", 8, monday - timedelta(days=30), monday + timedelta(days=1))]
    starts = views.buckets(monday.date(), monday.date() + timedelta(days=21), "week")
    found = views.occupancy(held, starts, "week")
    assert found.by_key == {("B200", "alpha"): [round(8 / 7, 3), 0.0, 0.0],
                            ("H100", "alpha"): [3.0, round(3 * 3 / 7, 3), 0.0],
                            ("H100", "beta"): [1.0, round(3 / 7, 3), 0.0]}
    assert found.totals == [round(4 + 8 / 7, 3), round(4 * 3 / 7, 3), 0.0]  # from the exact sums


def step(kind: LadderKind, at: datetime, allocation_id: UUID, **numbers: Any) -> LadderStep:
    return LadderStep(event_id=uuid4(), allocation_id=allocation_id, application_id=allocation_id, kind=kind,
                      at=at, **numbers)


def test_an_allocation_stands_on_the_ladder_from_its_first_drop_after_the_last_clearing() -> None:
    a = uuid4()
    steps = [step("warning", AT, a, rule="mean_below_plan"),
             step("recovered", AT + timedelta(days=1), a),
             step("warning", AT + timedelta(days=2), a, rule="mean_below_plan", utilization_pct=10.0),
             step("warning", AT + timedelta(days=3), a, rule="gpu_hours_below_plan", utilization_pct=5.0)]
    entry = views.on_ladder(steps)
    assert entry is not None
    assert (entry.level, entry.since, entry.warnings) == ("warning", AT + timedelta(days=2), 2)
    assert (entry.latest.rule, entry.latest.utilization_pct) == ("gpu_hours_below_plan", 5.0)
    # read in any order, the same standing
    shuffled = steps[:]
    random.Random(7).shuffle(shuffled)
    assert views.on_ladder(shuffled) == entry
    # the call to reclaim puts it at the top level
    called = views.on_ladder([*steps, step("reclaim", AT + timedelta(days=9), a)])
    assert called is not None and (called.level, called.warnings) == ("reclaim", 2)


def test_a_recovery_or_a_waiver_clears_the_drops_up_to_its_time_and_a_later_warning_re_arms() -> None:
    a = uuid4()
    warned = step("warning", AT, a)
    assert views.on_ladder([warned, step("recovered", AT, a)]) is None  # at the same instant: cleared
    assert views.on_ladder([warned, step("waived", AT + timedelta(hours=1), a)]) is None
    rearmed = views.on_ladder([warned, step("waived", AT + timedelta(hours=1), a),
                               step("warning", AT + timedelta(days=1), a)])
    assert rearmed is not None and (rearmed.since, rearmed.warnings) == (AT + timedelta(days=1), 1)
    # a waiver read before the warning it follows still clears it
    assert views.on_ladder([step("waived", AT + timedelta(hours=1), a), warned]) is None
    assert views.on_ladder([step("recovered", AT, a)]) is None


def test_an_allocation_taken_back_or_past_its_end_is_off_the_ladder() -> None:
    assert not AllocationInfo(ends_at=AT + timedelta(days=1)).is_over(AT)
    assert AllocationInfo(ends_at=AT).is_over(AT)
    assert AllocationInfo(ends_at=AT + timedelta(days=1), reclaimed_at=AT - timedelta(days=1)).is_over(AT)
    assert not AllocationInfo().is_over(AT)  # its grant not read yet: shown
