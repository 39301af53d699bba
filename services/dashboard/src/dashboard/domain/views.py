"""The operators' views beyond the funnel: balance, demand, occupancy, the reclaim ladder and the CSPs' telemetry.

What the views are made of comes from the events, one piece per event (`ViewUpdate`): what the submission and the
score told of an application (`Profile`), each allocation granted (`Grant`) and taken back (`Reclaim`), each round
decided (`RoundResult`), each step of the reclaim ladder (`LadderStep`) and each telemetry alert (`StaleAlert`).
Events of one application come in order on one topic but not across topics, so no piece depends on another having
been read first: a profile merges whatever its events told, whichever came first; the ladder keeps every step and is
judged when asked. The arithmetic of the views (shares, GPU-months, ages, buckets, who stands on the ladder) is below,
pure: the SQL only fetches the rows.
"""
from __future__ import annotations

import calendar
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
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
class BalanceRow:
    """One application as the balance counts it (its profile, and the GPUs allocated to it)."""

    program: str | None
    call_id: UUID | None
    institution: str | None
    sector: str | None
    company_size: str | None
    capital: bool | None
    track: str | None
    facts: tuple[str, ...] | None
    gpus_requested: int
    gpus_allocated: int
    offered: bool  # allocated (also) through an offer of freed capacity, not only by its round
    submitted: bool = True  # its submission read (else only its score, or only its allocation)


@dataclass(frozen=True)
class Tally:
    """Applications, GPUs requested and GPUs allocated of one group."""

    key: str
    applications: int = 0
    gpus_requested: int = 0
    gpus_allocated: int = 0

    def plus(self, other: Tally) -> Tally:
        return Tally(self.key, self.applications + other.applications, self.gpus_requested + other.gpus_requested,
                     self.gpus_allocated + other.gpus_allocated)

    def shares(self, total: Tally) -> tuple[float, float, float]:
        """Its share (0..1) of the total's applications, GPUs requested and GPUs allocated (0 of nothing)."""
        return (share(self.applications, total.applications), share(self.gpus_requested, total.gpus_requested),
                share(self.gpus_allocated, total.gpus_allocated))


def share(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0


def _one(row: BalanceRow, key: str) -> Tally:
    return Tally(key, 1, row.gpus_requested, row.gpus_allocated)


def total(rows: Iterable[BalanceRow]) -> Tally:
    found = Tally("total")
    for row in rows:
        found = found.plus(_one(row, "total"))
    return found


def tally_by(rows: Iterable[BalanceRow], key: Callable[[BalanceRow], str]) -> list[Tally]:
    """One tally per group, the largest first: by GPUs allocated, then requested, then applications, then name."""
    groups: dict[str, Tally] = {}
    for row in rows:
        k = key(row)
        groups[k] = groups.get(k, Tally(k)).plus(_one(row, k))
    return sorted(groups.values(), key=lambda t: (-t.gpus_allocated, -t.gpus_requested, -t.applications, t.key))


def top(tallies: Sequence[Tally], n: int = TOP_INSTITUTIONS) -> list[Tally]:
    """The first `n` (tally_by's order), the rest summed as `others`."""
    if len(tallies) <= n:
        return list(tallies)
    rest = Tally(OTHERS)
    for t in tallies[n:]:
        rest = rest.plus(Tally(OTHERS, t.applications, t.gpus_requested, t.gpus_allocated))
    return [*tallies[:n], rest]


def region_of(row: BalanceRow) -> str:
    if row.capital is None:
        return UNKNOWN
    return "capital" if row.capital else "non_capital"


def institution_of(row: BalanceRow) -> str:
    return row.institution or UNKNOWN


def sector_of(row: BalanceRow) -> str:
    return row.sector or UNKNOWN


def company_size_of(row: BalanceRow) -> str:
    """P1's company size (small, startup); `none` for an application without a company (P2, P3)."""
    if row.company_size:
        return row.company_size
    return "none" if row.submitted else UNKNOWN


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


def reserve_use(found: RoundResult, rows: Iterable[BalanceRow]) -> ReserveUse:
    """The round's grants are its call's allocations not made through an offer; derivable once as many of them as
    the round selected are read with their track."""
    placed = [r for r in rows if r.call_id == found.call_id and r.gpus_allocated and not r.offered
              and r.track is not None]
    if len(placed) < found.selected:
        return ReserveUse(found, None)
    return ReserveUse(found, sum(r.gpus_allocated for r in placed if r.track == EARLY_CAREER))


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


def fact_tallies(rows: Sequence[BalanceRow]) -> list[FactTally]:
    found = []
    for fact in FACTS:
        program = FACT_PROGRAM[fact]
        of_program = [r for r in rows if r.program == program]
        scored = [r for r in of_program if r.facts is not None]
        having = [r for r in scored if fact in (r.facts or ())]
        allocated = [r for r in of_program if r.gpus_allocated]
        found.append(FactTally(
            fact=fact, program=program, scored=len(scored), applications=len(having),
            gpus_requested=sum(r.gpus_requested for r in having),
            allocated=sum(1 for r in having if r.gpus_allocated), gpus_allocated=sum(r.gpus_allocated for r in having),
            program_allocated=len(allocated), program_gpus_allocated=sum(r.gpus_allocated for r in allocated)))
    return found


# --- demand ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """GPUs of a model asked for every day of a period (both days included)."""

    gpu_model: str
    gpus: int
    start: date
    end: date


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


def gpu_months(request: Request, month: date) -> float:
    """GPUs x the share of `month`'s days the period covers: a whole month at 4 GPUs is 4 GPU-months."""
    last = next_month(month) - timedelta(days=1)
    days = (min(request.end, last) - max(request.start, month)).days + 1
    return request.gpus * max(0, days) / calendar.monthrange(month.year, month.month)[1]


@dataclass(frozen=True)
class Series:
    """Figures per key (a GPU model; a model and a CSP) and per period, and every key's total per period, each
    rounded from the exact sums."""

    by_key: dict[tuple[str, ...], list[float]]
    totals: list[float]


def _series(found: Mapping[tuple[str, ...], list[float]], periods: int, digits: int) -> Series:
    return Series(by_key={key: [round(v, digits) for v in found[key]] for key in sorted(found)},
                  totals=[round(sum(row[i] for row in found.values()), digits) for i in range(periods)])


def demand(requests: Iterable[Request], months: Sequence[date]) -> Series:
    """GPU-months asked for per GPU model (by name) and month, in `months`' order."""
    found: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0] * len(months))
    for request in requests:
        row = found[request.gpu_model,]
        for i, month in enumerate(months):
            row[i] += gpu_months(request, month)
    return _series(found, len(months), 2)


@dataclass(frozen=True)
class Waiting:
    """An application on the waitlist since `since`."""

    program: str | None
    gpus: int
    since: datetime


@dataclass(frozen=True)
class WaitlistDepth:
    program: str | None  # None: every program
    applications: int
    gpus: int
    oldest_since: datetime | None
    oldest_days: float | None
    median_days: float | None


def depth(waiting: Sequence[Waiting], now: datetime, program: str | None = None) -> WaitlistDepth:
    """How many wait (and for how many GPUs), and for how long at `now`: the oldest and the median, in days."""
    ages = [(now - w.since).total_seconds() / SECONDS_PER_DAY for w in waiting]
    return WaitlistDepth(program=program, applications=len(waiting), gpus=sum(w.gpus for w in waiting),
                         oldest_since=min((w.since for w in waiting), default=None),
                         oldest_days=round(max(ages), 2) if ages else None,
                         median_days=round(statistics.median(ages), 2) if ages else None)


def waitlist(waiting: Sequence[Waiting], now: datetime) -> tuple[WaitlistDepth, list[WaitlistDepth]]:
    """The whole waitlist's depth and age, and each program's."""
    programs: dict[str | None, list[Waiting]] = defaultdict(list)
    for w in waiting:
        programs[w.program].append(w)
    return depth(waiting, now), [depth(programs[p], now, p) for p in sorted(programs, key=lambda p: p or "")]


# --- occupancy ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Held:
    """GPUs of a model on a CSP's servers, held by an allocation from `start` until `end` (its planned end, or its
    reclaim if sooner)."""

    gpu_model: str
    csp: str
    gpus: int
    start: datetime
    end: datetime


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


def occupancy(held: Iterable[Held], starts: Sequence[date], step: Step) -> Series:
    """Per GPU model and CSP, the GPUs allocated on average over each bucket (GPU-time held in it / its length)."""
    spans = [(midnight(d), midnight(next_bucket(d, step))) for d in starts]
    found: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0] * len(spans))
    for h in held:
        row = found[h.gpu_model, h.csp]
        for i, (lo, hi) in enumerate(spans):
            overlap = (min(h.end, hi) - max(h.start, lo)).total_seconds()
            if overlap > 0:
                row[i] += h.gpus * overlap / (hi - lo).total_seconds()
    return _series(found, len(spans), 3)


# --- the reclaim ladder ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OnLadder:
    """An allocation on the reclaim ladder: since its first drop after the last clearing, with its latest drop's
    rule and numbers and how many warnings it had since."""

    allocation_id: UUID
    application_id: UUID
    level: str
    since: datetime
    warnings: int
    latest: LadderStep


def on_ladder(steps: Iterable[LadderStep]) -> OnLadder | None:
    """Where an allocation stands, from its steps in any order: a recovery or a waiver clears every drop up to its
    time (a drop at the same instant included); a drop after the latest clearing puts it back on."""
    steps = list(steps)
    cleared = max((s.at for s in steps if s.kind in CLEARS), default=None)
    standing = sorted((s for s in steps if s.kind in DROPS and (cleared is None or s.at > cleared)),
                      key=lambda s: (s.at, s.kind == "reclaim"))
    if not standing:
        return None
    latest = standing[-1]
    return OnLadder(allocation_id=latest.allocation_id, application_id=latest.application_id,
                    level="reclaim" if any(s.kind == "reclaim" for s in standing) else "warning",
                    since=standing[0].at, warnings=sum(1 for s in standing if s.kind == "warning"), latest=latest)


def ladder_order(entry: OnLadder) -> tuple[bool, datetime]:
    """The reclaims first, then the longest on the ladder."""
    return entry.level != "reclaim", entry.since


@dataclass(frozen=True)
class AllocationInfo:
    """What the ladder shows of an allocation, as far as its grant and reclaim were read."""

    program: str | None = None
    gpu_model: str | None = None
    gpus: int | None = None
    csps: tuple[str, ...] = ()
    ends_at: datetime | None = None
    reclaimed_at: datetime | None = None

    def is_over(self, now: datetime) -> bool:
        """Taken back, or its period ran out: off the ladder."""
        return self.reclaimed_at is not None or (self.ends_at is not None and self.ends_at <= now)
