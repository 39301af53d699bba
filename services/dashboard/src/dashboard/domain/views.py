"""The operators' views beyond the funnel: balance, demand, occupancy, the reclaim ladder and the CSPs' telemetry.

What the views are made of comes from the events, one piece per event (`ViewUpdate`): what the submission and the
score told of an application (`Profile`), each allocation granted (`Grant`) and taken back (`Reclaim`), each round
decided (`RoundResult`), each step of the reclaim ladder (`LadderStep`) and each telemetry alert (`StaleAlert`).
Events of one application come in order on one topic but not across topics, so no piece depends on another having
been read first: a profile merges whatever its events told, whichever came first; the ladder keeps every step and is
judged when asked.

The database counts the views (dashboard.adapters.repository_views) and hands over groups, never one row per
application: the balance's applications grouped four ways, the GPUs asked for and held as the changes they make
at each period's bounds, the waitlist per program, the ladder judged. The arithmetic on those groups is below, pure,
each step a pass over groups whatever the number of applications: naming and merging the groups, shares, the
early-career reserve, GPU-months, ages, averages over buckets.
"""
from __future__ import annotations

import calendar
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args
from uuid import UUID

ProgramCode = Literal["P1", "P2", "P3"]
Fact = Literal["youth_company", "regional_company", "early_career", "non_capital_region"]
FACTS: tuple[Fact, ...] = get_args(Fact)
FACT_PROGRAM: Mapping[Fact, ProgramCode] = {"youth_company": "P1", "regional_company": "P1",
                                            "early_career": "P2", "non_capital_region": "P2"}
EARLY_CAREER = "early_career"  # the track the P2 reserve is for
LadderKind = Literal["warning", "reclaim", "recovered", "waived"]
DROPS: frozenset[str] = frozenset({"warning", "reclaim"})  # a step onto (or up) the ladder
CLEARS: frozenset[str] = frozenset({"recovered", "waived"})  # a step that clears it: the ladder starts over
Step = Literal["week", "month"]

TOP_INSTITUTIONS = 10
OTHERS = "others"
UNKNOWN = "unknown"
MAX_RANGE_DAYS = 731  # occupancy: two years at most
MAX_BUCKETS = 120
SECONDS_PER_DAY = 86_400
MICROSECOND = timedelta(microseconds=1)


# --- the pieces the events bring ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Profile:
    """What an event told of an application: who applied and for what (the submission), what evaluation found of it
    (the score: its track and facts), whether it was offered freed capacity; None where this event does not tell.
    Kept merged: what an event tells fills in or replaces a field, what it does not tell leaves it as it was."""

    application_id: UUID
    program: ProgramCode | None = None
    call_id: UUID | None = None
    institution: str | None = None
    sector: str | None = None
    company_size: str | None = None
    capital: bool | None = None  # in the capital region (P1: the company's head office)
    gpu_model: str | None = None
    gpus_requested: int | None = None
    period_start: date | None = None
    period_end: date | None = None
    submitted_at: datetime | None = None
    scored_at: datetime | None = None
    track: str | None = None
    facts: tuple[Fact, ...] | None = None  # None until the score is read
    offered_at: datetime | None = None


@dataclass(frozen=True)
class Grant:
    """GPUs allocated: how many of them each CSP hosts, and for when."""

    allocation_id: UUID
    application_id: UUID
    program: ProgramCode
    gpu_model: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    csp_gpus: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Reclaim:
    """The allocation's GPUs taken back at `reclaimed_at`: it ends there, if before its planned end."""

    allocation_id: UUID
    application_id: UUID
    reason: str
    reclaimed_at: datetime


@dataclass(frozen=True)
class RoundResult:
    """A P1/P2 round decided, with the early-career reserve: reserved, and how much of it the track took."""

    call_id: UUID
    program: ProgramCode
    selected: int
    waitlisted: int
    gpus_awarded: int
    reserve_gpus: int
    reserve_gpus_used: int
    selected_at: datetime

    @property
    def spilled_over(self) -> int:
        """Reserved GPUs the early-career track did not take: they went to the others."""
        return max(0, self.reserve_gpus - self.reserve_gpus_used)


@dataclass(frozen=True)
class LadderStep:
    """A step of an allocation's reclaim ladder: a drop (warning, reclaim) with its rule and numbers, or a clearing
    (recovered, waived). `at` is when it stands from: the event's time, a waiver's `waived_at`."""

    event_id: UUID
    allocation_id: UUID
    application_id: UUID
    kind: LadderKind
    at: datetime
    rule: str | None = None
    utilization_pct: float | None = None
    threshold_pct: float | None = None
    actual_gpu_hours: float | None = None
    planned_gpu_hours: float | None = None
    required_gpu_hours: float | None = None


@dataclass(frozen=True)
class StaleAlert:
    """An allocation's telemetry went missing, as seen from the CSPs hosting it."""

    allocation_id: UUID
    application_id: UUID
    csps: tuple[str, ...]
    reason: str
    last_sample_at: datetime | None
    coverage: float | None
    detected_at: datetime


ViewUpdate = Profile | Grant | Reclaim | RoundResult | LadderStep | StaleAlert


# --- balance -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Counted:
    """Applications counted together: how many, the GPUs they requested and were allocated, and how many of them
    were allocated any."""

    applications: int
    gpus_requested: int
    gpus_allocated: int
    allocated: int = 0

    def plus(self, other: Counted) -> Counted:
        return Counted(self.applications + other.applications, self.gpus_requested + other.gpus_requested,
                       self.gpus_allocated + other.gpus_allocated, self.allocated + other.allocated)


@dataclass(frozen=True)
class ProfileGroup:
    """The applications of one capital-region class, sector and company size, as read (None: not told)."""

    capital: bool | None  # in the capital region (P1: the company's head office)
    sector: str | None
    company_size: str | None
    submitted: bool  # their submission read (else only their score, or only their allocations)
    counted: Counted


@dataclass(frozen=True)
class FactGroup:
    """The applications of a program with the same facts (None: not scored)."""

    program: str | None
    facts: tuple[str, ...] | None
    counted: Counted


@dataclass(frozen=True)
class RoundGroup:
    """The applications of a call `placed` by its round (allocated GPUs not through an offer of freed capacity, their
    track known) or not, on the early-career track or not."""

    call_id: UUID | None
    placed: bool
    early_career: bool
    counted: Counted


@dataclass(frozen=True)
class BalanceGroups:
    """Every application read (its profile, or only its allocations), counted four ways: by profile (region, sector,
    company size), by institution (as read), by program and facts, and by call and how its round placed them."""

    profiles: list[ProfileGroup]
    institutions: list[tuple[str | None, Counted]]
    facts: list[FactGroup]
    rounds: list[RoundGroup]


@dataclass(frozen=True)
class Tally:
    """Applications, GPUs requested and GPUs allocated of one group."""

    key: str
    applications: int = 0
    gpus_requested: int = 0
    gpus_allocated: int = 0

    @classmethod
    def of(cls, key: str, counted: Counted) -> Tally:
        return cls(key, counted.applications, counted.gpus_requested, counted.gpus_allocated)

    def plus(self, other: Tally) -> Tally:
        return Tally(self.key, self.applications + other.applications, self.gpus_requested + other.gpus_requested,
                     self.gpus_allocated + other.gpus_allocated)

    def shares(self, total: Tally) -> tuple[float, float, float]:
        """Its share (0..1) of the total's applications, GPUs requested and GPUs allocated (0 of nothing)."""
        return (share(self.applications, total.applications), share(self.gpus_requested, total.gpus_requested),
                share(self.gpus_allocated, total.gpus_allocated))


def share(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0


def total(groups: Iterable[Counted]) -> Tally:
    """The groups of one way of counting summed: every application counted."""
    found = Tally("total")
    for counted in groups:
        found = found.plus(Tally.of("total", counted))
    return found


def tally_by(groups: Iterable[tuple[str, Counted]]) -> list[Tally]:
    """One tally per key (the groups named alike summed), the largest first: by GPUs allocated, then requested, then
    applications, then name."""
    found: dict[str, Tally] = {}
    for key, counted in groups:
        found[key] = found.get(key, Tally(key)).plus(Tally.of(key, counted))
    return sorted(found.values(), key=lambda t: (-t.gpus_allocated, -t.gpus_requested, -t.applications, t.key))


def top(tallies: Sequence[Tally], n: int = TOP_INSTITUTIONS) -> list[Tally]:
    """The first `n` (tally_by's order), the rest summed as `others`."""
    if len(tallies) <= n:
        return list(tallies)
    rest = Tally(OTHERS)
    for t in tallies[n:]:
        rest = rest.plus(Tally(OTHERS, t.applications, t.gpus_requested, t.gpus_allocated))
    return [*tallies[:n], rest]


def region_of(capital: bool | None) -> str:
    if capital is None:
        return UNKNOWN
    return "capital" if capital else "non_capital"


def institution_of(name: str | None) -> str:
    return name or UNKNOWN


def sector_of(sector: str | None) -> str:
    return sector or UNKNOWN


def company_size_of(size: str | None, *, submitted: bool) -> str:
    """P1's company size (small, startup); `none` for an application without a company (P2, P3)."""
    if size:
        return size
    return "none" if submitted else UNKNOWN


@dataclass(frozen=True)
class ReserveUse:
    """A round's early-career reserve: what was reserved, used and spilled over, and the GPUs the early-career
    track won besides (in the open competition), when every grant of the round is known with its track."""

    round: RoundResult
    early_career_gpus: int | None  # allocated by the round to early-career applications; None: not derivable yet

    @property
    def won_in_general(self) -> int | None:
        if self.early_career_gpus is None:
            return None
        return max(0, self.early_career_gpus - self.round.reserve_gpus_used)


def reserve_use(found: RoundResult, groups: Sequence[RoundGroup]) -> ReserveUse:
    """The round's grants are its call's allocations not made through an offer; derivable once as many of them as
    the round selected are read with their track."""
    placed = [g for g in groups if g.call_id == found.call_id and g.placed]
    if sum(g.counted.applications for g in placed) < found.selected:
        return ReserveUse(found, None)
    return ReserveUse(found, sum(g.counted.gpus_allocated for g in placed if g.early_career))


@dataclass(frozen=True)
class FactTally:
    """The applications of a program with a fact evaluation found (youth company, ...), and what they were
    allocated, beside the program's: `scored` applications (whose facts are known) and all `program_allocated`."""

    fact: Fact
    program: ProgramCode
    scored: int
    applications: int
    gpus_requested: int
    allocated: int
    gpus_allocated: int
    program_allocated: int
    program_gpus_allocated: int


def fact_tallies(groups: Sequence[FactGroup]) -> list[FactTally]:
    found = []
    for fact in FACTS:
        program = FACT_PROGRAM[fact]
        of_program = [g for g in groups if g.program == program]
        scored = [g for g in of_program if g.facts is not None]
        having = [g.counted for g in scored if fact in (g.facts or ())]
        found.append(FactTally(
            fact=fact, program=program, scored=sum(g.counted.applications for g in scored),
            applications=sum(c.applications for c in having), gpus_requested=sum(c.gpus_requested for c in having),
            allocated=sum(c.allocated for c in having), gpus_allocated=sum(c.gpus_allocated for c in having),
            program_allocated=sum(g.counted.allocated for g in of_program),
            program_gpus_allocated=sum(g.counted.gpus_allocated for g in of_program)))
    return found


# --- spans over periods: demand and occupancy --------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """Spans (of GPUs asked for, of GPUs held) starting and stopping, summed per key (a GPU model; a model and a CSP)
    and per place among a range's bounds: `after` bounds are at or before them (0 .. len(bounds)). `amount` is the
    GPUs they start (+) or stop (-) holding there, `moment` the sum of each one's amount x its time, counted from the
    first bound in the range's unit (days, microseconds)."""

    key: tuple[str, ...]
    after: int
    amount: int
    moment: int


def spread(changes: Iterable[Change], bounds: Sequence[int]) -> dict[tuple[str, ...], list[int]]:
    """Per key, the GPUs x time held in each period [bounds[i], bounds[i + 1]). Held until t, a span of g GPUs from
    s to u has given g x (t - s) from s on, less g x (t - u) from u on: H(t) = A(t) x t - M(t), A and M the amounts and
    moments of the changes before t. A period's share is H at its end less H at its start: the spans are swept once,
    whatever the number of periods, and the sums stay exact."""
    amounts: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0] * (len(bounds) + 1))
    moments: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0] * (len(bounds) + 1))
    for change in changes:
        amounts[change.key][change.after] += change.amount
        moments[change.key][change.after] += change.moment
    found = {}
    for key, amount in amounts.items():
        held, a, m = [], 0, 0
        for i, bound in enumerate(bounds):  # a change after i bounds is before every bound from the i-th on
            a, m = a + amount[i], m + moments[key][i]
            held.append(a * bound - m)
        found[key] = [end - start for start, end in itertools.pairwise(held)]
    return found


@dataclass(frozen=True)
class Series:
    """Figures per key (a GPU model; a model and a CSP) and per period, and every key's total per period, each
    rounded from the exact sums."""

    by_key: dict[tuple[str, ...], list[float]]
    totals: list[float]


def _series(found: Mapping[tuple[str, ...], list[float]], periods: int, digits: int) -> Series:
    return Series(by_key={key: [round(v, digits) for v in found[key]] for key in sorted(found)},
                  totals=[round(sum(row[i] for row in found.values()), digits) for i in range(periods)])


# --- demand ------------------------------------------------------------------------------------------------------

def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first of the month after `day`'s."""
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def months_from(first: date, count: int) -> list[date]:
    """The first day of `count` calendar months, from `first`'s month on."""
    months = [month_start(first)]
    while len(months) < count:
        months.append(next_month(months[-1]))
    return months


def month_bounds(months: Sequence[date]) -> list[date]:
    """The months' first days and the first day after the last: what the GPUs asked for are counted between."""
    return [*months, next_month(months[-1])]


def gpu_months(gpu_days: int, month: date) -> float:
    """GPU-days asked for in a month, in GPU-months: a whole month at 4 GPUs is 4 GPU-months."""
    return gpu_days / calendar.monthrange(month.year, month.month)[1]


def demand(changes: Iterable[Change], months: Sequence[date]) -> Series:
    """GPU-months asked for per GPU model (by name) and month, in `months`' order, from the changes of the days asked
    for (each application's GPUs from its first day to the day after its last) at the months' bounds, in days from
    the first."""
    bounds = [(day - months[0]).days for day in month_bounds(months)]
    asked = spread(changes, bounds)
    found = {key: [gpu_months(days, month) for days, month in zip(gpu_days, months, strict=True)]
             for key, gpu_days in asked.items()}
    return _series(found, len(months), 2)


@dataclass(frozen=True)
class Waitlisted:
    """The applications waitlisted now (of a program, or all of them): how many, their GPUs, when the longest waiting
    was waitlisted, and when the one or two in the middle of the line were (the later and the earlier; the same one
    for an odd count)."""

    program: str | None
    applications: int
    gpus: int
    oldest: datetime | None
    middle: tuple[datetime, datetime] | None


@dataclass(frozen=True)
class WaitlistDepth:
    program: str | None  # None: every program
    applications: int
    gpus: int
    oldest_since: datetime | None
    oldest_days: float | None
    median_days: float | None


def days_since(since: datetime, now: datetime) -> float:
    return (now - since).total_seconds() / SECONDS_PER_DAY


def depth(waiting: Waitlisted, now: datetime) -> WaitlistDepth:
    """How many wait (and for how many GPUs), and for how long at `now`: the oldest and the median, in days."""
    if not waiting.applications or waiting.oldest is None or waiting.middle is None:
        return WaitlistDepth(waiting.program, waiting.applications, waiting.gpus, None, None, None)
    later, earlier = (days_since(since, now) for since in waiting.middle)
    median = later if waiting.applications % 2 else (later + earlier) / 2
    return WaitlistDepth(program=waiting.program, applications=waiting.applications, gpus=waiting.gpus,
                         oldest_since=waiting.oldest, oldest_days=round(days_since(waiting.oldest, now), 2),
                         median_days=round(median, 2))


def waitlist(every: Waitlisted, programs: Iterable[Waitlisted], now: datetime,
             ) -> tuple[WaitlistDepth, list[WaitlistDepth]]:
    """The whole waitlist's depth and age, and each program's."""
    return depth(every, now), [depth(p, now) for p in sorted(programs, key=lambda p: p.program or "")]


# --- occupancy ---------------------------------------------------------------------------------------------------

def bucket_start(day: date, step: Step) -> date:
    """Weeks start on Monday, months on the first."""
    return day - timedelta(days=day.weekday()) if step == "week" else month_start(day)


def next_bucket(day: date, step: Step) -> date:
    return day + timedelta(days=7) if step == "week" else next_month(day)


def buckets(start: date, end: date, step: Step) -> list[date]:
    """The first day of each week (month) that overlaps [start, end)."""
    found: list[date] = []
    day = bucket_start(start, step)
    while day < end:
        found.append(day)
        day = next_bucket(day, step)
    return found


def range_problems(start: date, end: date, step: Step) -> list[tuple[str, str]]:
    """What is wrong with an occupancy range, by field: empty, over two years, or too many buckets."""
    if end <= start:
        return [("end", "must be after start")]
    if (end - start).days > MAX_RANGE_DAYS:
        return [("end", f"must be at most {MAX_RANGE_DAYS} days after start")]
    if len(buckets(start, end, step)) > MAX_BUCKETS:
        return [("step", f"gives more than {MAX_BUCKETS} buckets over the range")]
    return []


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def bucket_bounds(starts: Sequence[date], step: Step) -> list[datetime]:
    """Each bucket's start and the end of the last (midnight, UTC)."""
    return [midnight(day) for day in [*starts, next_bucket(starts[-1], step)]]


def occupancy(changes: Iterable[Change], starts: Sequence[date], step: Step) -> Series:
    """Per GPU model and CSP, the GPUs allocated on average over each bucket (GPU-time held in it / its length), from
    the changes of the GPUs held (each allocation's slots from its start to its end, or its reclaim if sooner) at the
    buckets' bounds, in microseconds from the first."""
    bounds = [(at - midnight(starts[0])) // MICROSECOND for at in bucket_bounds(starts, step)]
    held = spread(changes, bounds)
    found = {key: [gpu_time / (end - start) for gpu_time, (start, end) in zip(times, itertools.pairwise(bounds),
                                                                               strict=True)]
             for key, times in held.items()}
    return _series(found, len(starts), 3)


# --- the reclaim ladder ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OnLadder:
    """An allocation on the reclaim ladder now: since its first drop after the latest clearing, with its latest drop
    (its rule and numbers) and how many warnings it had since; and what its grant told, if read (program, model,
    GPUs, CSPs, end)."""

    allocation_id: UUID
    application_id: UUID
    level: str
    since: datetime
    warnings: int
    latest: LadderStep
    program: str | None = None
    gpu_model: str | None = None
    gpus: int | None = None
    csps: tuple[str, ...] = ()
    ends_at: datetime | None = None
