"""A tracked allocation, the samples attributed to it, and its ladder: none → warned → reclaim_requested.

Samples are summed per allocation and hour (the rollups); a trailing window of rollups is judged against the
applicant's own plan (planned GPU-hours per month) by the reclaim policy's two rules, each a setting: the mean
utilization below a share of the planned utilization, and the actual GPU-hours below a share of the planned
GPU-hours. A window is judged only on enough data: a day of reserved time and most of its expected samples.
Missing telemetry is not low utilization.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal
from uuid import UUID

HOURS_PER_MONTH = 730  # 8,760 hours a year / 12: the month the plans are written against
SECONDS_PER_HOUR = 3600
# the support programs: the same literal as contracts.Program, which a domain may not import
ProgramCode = Literal["P1", "P2", "P3"]


def shifted(at: datetime, days: int) -> datetime:
    """`at` moved by `days`, or the calendar's first or last instant past its ends: a window or a grace period of
    more days than the calendar holds reaches back to its start, or never ends."""
    try:
        return at + timedelta(days=days)
    except OverflowError:
        return (datetime.max if days > 0 else datetime.min).replace(tzinfo=UTC)


def shifted_seconds(at: datetime, seconds: int) -> datetime:
    """`at` moved `seconds` (0 or more) ahead, or the calendar's last instant past its end."""
    try:
        return at + timedelta(seconds=seconds)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


class Rule(StrEnum):
    """The reclaim policy's two warning rules (PROGRAM_RULES.md, reclaim policy defaults)."""

    MEAN_BELOW_PLAN = "mean_below_plan"
    """The window's mean utilization is below `warn_ratio` of the utilization the plan implies."""
    GPU_HOURS_BELOW_PLAN = "gpu_hours_below_plan"
    """The window's actual GPU-hours are below `hours_ratio` of the planned GPU-hours over it."""


class HoursBasis(StrEnum):
    """What counts as an actual GPU-hour for the GPU-hours rule."""

    BUSY = "busy"
    """A GPU-hour weighed by its utilization: DCGM's GPU_UTIL is the share of time a kernel ran, so 25% busy for an
    hour is a quarter of a GPU-hour used."""
    IN_USE = "in_use"
    """A whole GPU-hour for every hour the GPU was in use at all (utilization at or above `in_use_pct`)."""


@dataclass(frozen=True)
class Policy:
    """The ladder's numbers (PROGRAM_RULES.md, reclaim policy defaults), what a window needs before it is judged,
    and how far ahead of the clock or behind it a sample may be dated; the settings supply them."""

    warn_ratio: float = 0.30
    window_days: int = 7
    hours_ratio: float = 0.50
    hours_window_days: int = 14
    hours_basis: HoursBasis = HoursBasis.BUSY
    in_use_pct: float = 5.0
    rules: frozenset[Rule] = frozenset(Rule)
    grace_days: int = 7
    sample_interval_s: int = 60
    min_coverage: float = 0.75
    min_judged_hours: int = 24
    max_clock_skew_s: int = 300
    lateness_s: int = 7200
    stale_after_s: int = 3600
    # PROGRAM_RULES.md: P3's usage is checked against its plan; the same policy is available to P1 and P2, switched
    # on per program. An allocation of another program has its usage recorded but is never put on the ladder.
    monitored_programs: frozenset[ProgramCode] = frozenset({"P3"})

    def monitors(self, program: ProgramCode) -> bool:
        return program in self.monitored_programs

    def latest_instant(self, received_at: datetime) -> datetime:
        """The latest instant a sample received at `received_at` may be dated: the clocks may disagree a little."""
        return shifted_seconds(received_at, self.max_clock_skew_s)

    def earliest_instant(self, received_at: datetime) -> datetime:
        """The earliest instant a sample received at `received_at` may be dated: an older one is late, its hour
        closed and its usage published."""
        try:
            return received_at - timedelta(seconds=self.lateness_s)
        except OverflowError:
            return datetime.min.replace(tzinfo=UTC)

    @property
    def rules_in_order(self) -> list[Rule]:
        """The rules switched on, in the policy's order (the mean rule first)."""
        return [rule for rule in Rule if rule in self.rules]

    def window_days_of(self, rule: Rule) -> int:
        return self.window_days if rule is Rule.MEAN_BELOW_PLAN else self.hours_window_days

    def judgeable(self, measured: Measured) -> bool:
        """Enough of the window to judge: a day (by default) of reserved time, and enough of its samples."""
        return measured.hours >= self.min_judged_hours and measured.coverage >= self.min_coverage


def hour_of(at: datetime) -> datetime:
    """The UTC hour `at` falls in: the rollups' hours are UTC hours, whatever offset a sample was dated with."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Measured:
    """An allocation's use over a window (start, end], summed from its hourly rollups.

    Judged on what arrived: the mean of the samples that arrived stands for the whole reserved time."""

    start: datetime
    end: datetime
    gpus: int
    reserved_gpu_hours: float
    samples: int
    utilization_pct_sum: float
    in_use_samples: int
    sample_interval_s: int

    @property
    def hours(self) -> float:
        return self.reserved_gpu_hours / self.gpus if self.gpus else 0.0

    @property
    def coverage(self) -> float:
        """The share of the expected samples (one per GPU per sample interval) that arrived, at most 1."""
        if self.reserved_gpu_hours <= 0:
            return 0.0
        return min(1.0, self.samples * self.sample_interval_s / SECONDS_PER_HOUR / self.reserved_gpu_hours)

    @property
    def utilization_pct(self) -> float:
        return self.utilization_pct_sum / self.samples if self.samples else 0.0

    def actual_gpu_hours(self, basis: HoursBasis) -> float:
        if not self.samples:
            return 0.0
        share = (self.utilization_pct / 100 if basis is HoursBasis.BUSY else self.in_use_samples / self.samples)
        return share * self.reserved_gpu_hours


@dataclass(frozen=True)
class Finding:
    """One rule applied to its window: `value` against `limit` (a utilization % for the mean rule, GPU-hours for
    the GPU-hours rule), and whether the allocation falls short."""

    rule: Rule
    measured: Measured
    value: float
    limit: float
    planned_gpu_hours: float

    @property
    def short(self) -> bool:
        return self.value < self.limit

    def describe(self) -> str:
        if self.rule is Rule.MEAN_BELOW_PLAN:
            return (f"mean utilization {self.value:.1f}% against a threshold of {self.limit:.1f}% "
                    f"over {self.measured.hours:.0f} h")
        return (f"{self.value:.1f} actual GPU-hours against {self.limit:.1f} required "
                f"(of {self.planned_gpu_hours:.1f} planned) over {self.measured.hours:.0f} h")


class Ladder(StrEnum):
    NONE = "none"
    WARNED = "warned"
    RECLAIM_REQUESTED = "reclaim_requested"


class Step(StrEnum):
    """What happened on an allocation's ladder; each is kept, with why, in its history."""

    WARNING = "warning"
    RECLAIM = "reclaim"
    RECOVERED = "recovered"
    WAIVED = "waived"
    STALE = "stale"
    FRESH = "fresh"


@dataclass(frozen=True)
class Slot:
    """One GPU of an allocation; samples name it by server and GPU index."""

    server_name: str
    gpu_index: int
    csp: str = field(default="", compare=False)  # the CSP's name, for people
    gpu_uuid: str | None = field(default=None, compare=False)
    # the CSP's id in the inventory, which a CSP's token names; None for a slot tracked before events carried it
    csp_id: UUID | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Sample:
    """One CSP reading of a GPU at an instant: its busy % (DCGM), and, where reported, its frame-buffer memory in
    use (MiB) and its power draw (W)."""

    server_name: str
    gpu_index: int
    ts: datetime
    utilization_pct: float
    memory_used_mib: float | None = None
    power_w: float | None = None


@dataclass(frozen=True)
class HostMapping:
    """A CSP's name for a host (the exporter's `Hostname` label) and the server it is known as here.

    Without one, a host's name is its server's name."""

    csp_id: UUID
    hostname: str
    server_name: str


@dataclass
class HourTally:
    """What one batch's new samples add to one allocation's hour (the rollup keeps the sums)."""

    allocation_id: UUID
    hour: datetime
    samples: int = 0
    utilization_pct_sum: float = 0.0
    in_use_samples: int = 0
    memory_mib_sum: float = 0.0
    memory_samples: int = 0
    power_w_sum: float = 0.0
    power_samples: int = 0
    last_ts: datetime | None = None

    def add(self, sample: Sample, in_use_pct: float) -> None:
        self.samples += 1
        self.utilization_pct_sum += sample.utilization_pct
        self.in_use_samples += sample.utilization_pct >= in_use_pct
        if sample.memory_used_mib is not None:
            self.memory_mib_sum += sample.memory_used_mib
            self.memory_samples += 1
        if sample.power_w is not None:
            self.power_w_sum += sample.power_w
            self.power_samples += 1
        self.last_ts = sample.ts if self.last_ts is None else max(self.last_ts, sample.ts)


@dataclass(frozen=True)
class StepTaken:
    """A step of the ladder, with the finding that moved it (none for a waiver or a telemetry alert)."""

    step: Step
    at: datetime
    finding: Finding | None = None
    reason: str = ""


@dataclass
class Allocation:
    id: UUID
    application_id: UUID
    program: ProgramCode
    gpus: int
    starts_at: datetime
    ends_at: datetime
    planned_gpu_hours_per_month: int
    slots: list[Slot]
    ladder: Ladder = Ladder.NONE
    warned_at: datetime | None = None
    ended_at: datetime | None = None
    waived_at: datetime | None = None
    stale_since: datetime | None = None

    @property
    def planned_pct(self) -> float:
        """The busy % the plan implies: planned GPU-hours over all the GPU-hours of a month, at most 100."""
        return min(100.0, self.planned_gpu_hours_per_month / (self.gpus * HOURS_PER_MONTH) * 100)

    def threshold_pct(self, policy: Policy) -> float:
        return policy.warn_ratio * self.planned_pct

    @property
    def until(self) -> datetime:
        """Samples count up to here: the planned end, or the moment the GPUs were taken back."""
        return min(self.ends_at, self.ended_at) if self.ended_at else self.ends_at

    @property
    def judged_from(self) -> datetime:
        """Usage counts toward a judgement from the start, or from the first whole hour after a waiver: the
        waived shortfall is not judged twice."""
        if self.waived_at is None:
            return self.starts_at
        after = hour_of(self.waived_at)
        return max(self.starts_at, after if after == self.waived_at else shifted_seconds(after, SECONDS_PER_HOUR))

    def window_of(self, end: datetime, days: int) -> tuple[datetime, datetime]:
        """The judged window of `days` ending at `end`, in whole hours from the judged start: (start, end]."""
        start = shifted_seconds(hour_of(shifted(end, -days)), SECONDS_PER_HOUR) if days else hour_of(end)
        return max(start, self.judged_from), end

    def reserved_gpu_hours(self, start: datetime, end: datetime) -> float:
        """GPUs x the hours of [start, end) within the allocation's period."""
        span = (min(end, self.until) - max(start, self.starts_at)).total_seconds()
        return self.gpus * max(0.0, span) / SECONDS_PER_HOUR

    def covers(self, sample: Sample) -> bool:
        return self.starts_at <= sample.ts < self.until

    @property
    def is_evaluated(self) -> bool:
        """Once ended or once its reclaim is requested, the ladder has nothing more to say."""
        return self.ended_at is None and self.ladder is not Ladder.RECLAIM_REQUESTED

    def finding(self, rule: Rule, measured: Measured, policy: Policy) -> Finding:
        planned = min(measured.reserved_gpu_hours,
                      self.planned_gpu_hours_per_month * measured.hours / HOURS_PER_MONTH)
        if rule is Rule.MEAN_BELOW_PLAN:
            return Finding(rule, measured, measured.utilization_pct, self.threshold_pct(policy), planned)
        return Finding(rule, measured, measured.actual_gpu_hours(policy.hours_basis), policy.hours_ratio * planned,
                       planned)

    def evaluate(self, findings: Sequence[Finding], policy: Policy) -> list[StepTaken]:
        """Move the ladder on the judged rules' findings; returns the steps taken (a warning and, without a grace
        period, the reclaim at once). Short on any rule is a drop; back on every judged rule is a recovery."""
        if not self.is_evaluated or not findings:
            return []
        at = max(f.measured.end for f in findings)
        short = [f for f in findings if f.short]
        if not short:
            if self.ladder is Ladder.WARNED:
                self.ladder, self.warned_at = Ladder.NONE, None
                return [StepTaken(Step.RECOVERED, at, findings[0])]
            return []
        taken: list[StepTaken] = []
        if self.ladder is Ladder.NONE:
            self.ladder, self.warned_at = Ladder.WARNED, at
            taken.append(StepTaken(Step.WARNING, at, short[0]))
        if self.warned_at is not None and at >= shifted(self.warned_at, policy.grace_days):
            self.ladder = Ladder.RECLAIM_REQUESTED
            taken.append(StepTaken(Step.RECLAIM, at, short[0]))
        return taken

    def waive(self, at: datetime) -> StepTaken | None:
        """An operator waived the reclaim: the ladder starts over, judging usage from the waiver on."""
        if self.ended_at is not None or (self.waived_at is not None and at <= self.waived_at):
            return None
        self.ladder, self.warned_at, self.waived_at = Ladder.NONE, None, at
        return StepTaken(Step.WAIVED, at, reason="reclaim waived by an operator; usage is judged from here on")

    def went_stale(self, at: datetime, reason: str) -> StepTaken | None:
        if self.stale_since is not None:
            return None
        self.stale_since = at
        return StepTaken(Step.STALE, at, reason=reason)

    def went_fresh(self, at: datetime) -> StepTaken | None:
        if self.stale_since is None:
            return None
        self.stale_since = None
        return StepTaken(Step.FRESH, at, reason="samples arrive again")

    def end(self, at: datetime) -> bool:
        """The GPUs were taken back at `at`: the first reclaim stands. False when it had ended already."""
        if self.ended_at is not None:
            return False
        self.ended_at = at
        return True

    def hosted_by(self, csp_id: UUID) -> bool:
        """Whether the CSP (by its id, never its name) hosts any of its GPUs (an allocation may span servers of
        several CSPs)."""
        return any(slot.csp_id == csp_id for slot in self.slots)

    @property
    def csps(self) -> list[str]:
        return sorted({slot.csp for slot in self.slots if slot.csp})


def _holders(allocations: Iterable[Allocation]) -> dict[tuple[str, int], list[Allocation]]:
    holders: dict[tuple[str, int], list[Allocation]] = defaultdict(list)
    for allocation in allocations:
        for slot in allocation.slots:
            holders[slot.server_name, slot.gpu_index].append(allocation)
    return holders


def tally(samples: Iterable[Sample], allocations: Iterable[Allocation], *, in_use_pct: float) -> list[HourTally]:
    """Each sample goes to the allocation that held its GPU at its instant (to none, if it was free), summed per
    allocation and hour, in (allocation, hour) order."""
    holders = _holders(allocations)
    tallies: dict[tuple[UUID, datetime], HourTally] = {}
    for sample in samples:
        for allocation in holders.get((sample.server_name, sample.gpu_index), ()):
            if not allocation.covers(sample):
                continue
            key = (allocation.id, hour_of(sample.ts))
            if key not in tallies:
                tallies[key] = HourTally(*key)
            tallies[key].add(sample, in_use_pct)
    return [tallies[key] for key in sorted(tallies)]


def _foreign_servers(owners: Mapping[str, Set[UUID]], csp_id: UUID) -> frozenset[str]:
    """The servers tracked as another CSP's (a server tracked as several CSPs', this one among them, counts)."""
    return frozenset(server for server, csps in owners.items() if csps - {csp_id})


def renamed(samples: Iterable[Sample], moved: Mapping[tuple[str, int], tuple[str, int]],
            servers: Mapping[str, str]) -> tuple[Sample, ...]:
    """Samples named by host: a GPU in `moved` (by its registered UUID) becomes the server and index it names;
    any other host becomes the server it is mapped to, or stays its own server's name."""
    if not moved and not servers:
        return tuple(samples)
    return tuple(replace(s, server_name=moved[gpu][0], gpu_index=moved[gpu][1])
                 if (gpu := (s.server_name, s.gpu_index)) in moved
                 else replace(s, server_name=servers[s.server_name]) if s.server_name in servers else s
                 for s in samples)


@dataclass(frozen=True)
class Triage:
    """A batch sorted out before it is stored: what may be stored, and what may not, each with its line."""

    kept: tuple[Sample, ...]
    future: tuple[tuple[int, Sample], ...]
    foreign: tuple[tuple[int, Sample], ...]
    late: tuple[tuple[int, Sample], ...] = ()


def triage(samples: Sequence[Sample], line_numbers: Sequence[int], *, earliest: datetime, latest: datetime,
           owners: Mapping[str, Set[UUID]], csp_id: UUID) -> Triage:
    """Samples dated after `latest` are in the future and those before `earliest` late, whoever's server they
    name; the others on a server tracked as another CSP's (by id) are foreign; the rest are kept (a server no allocation
    has named yet is anybody's)."""
    kept: list[Sample] = []
    future: list[tuple[int, Sample]] = []
    foreign: list[tuple[int, Sample]] = []
    late: list[tuple[int, Sample]] = []
    others = _foreign_servers(owners, csp_id)
    for sample, line in zip(samples, line_numbers, strict=True):
        if sample.ts > latest:
            future.append((line, sample))
        elif sample.ts < earliest:
            late.append((line, sample))
        elif sample.server_name in others:
            foreign.append((line, sample))
        else:
            kept.append(sample)
    return Triage(tuple(kept), tuple(future), tuple(foreign), tuple(late))


def held_by_none(samples: Iterable[Sample], allocations: Iterable[Allocation]) -> int:
    """How many of the samples no allocation held: their GPU was nobody's at their instant."""
    holders = _holders(allocations)
    return sum(1 for s in samples
               if not any(a.covers(s) for a in holders.get((s.server_name, s.gpu_index), ())))


@dataclass(frozen=True)
class StoredBatch:
    """What storing a batch's samples did: how many were new, how many of those no allocation held, and the
    allocations that held the others."""

    new: int
    unheld: int
    allocation_ids: tuple[UUID, ...]


@dataclass(frozen=True)
class BatchReceipt:
    """The answer to a CSP's batch: how many samples were new, how many were already stored, how many of the new
    ones no allocation held, and how many were refused (dated in the future, or on another CSP's servers) when
    such samples are dropped rather than the batch refused."""

    accepted: int
    duplicates: int
    allocations_evaluated: int
    unheld: int = 0
    refused_future: int = 0
    refused_other_csp: int = 0
    refused_late: int = 0
