"""A tracked allocation, the samples attributed to it, and its ladder: none → warned → reclaim_requested.

Utilization is the mean GPU busy % of the allocation's samples over a trailing window; it is measured against
a threshold derived from the applicant's own plan (planned GPU-hours per month).
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


@dataclass(frozen=True)
class Policy:
    """The ladder's numbers (PROGRAM_RULES.md, reclaim policy defaults) and how far ahead of the clock a sample may
    be dated; the settings supply them."""

    warn_ratio: float = 0.30
    window_days: int = 7
    grace_days: int = 7
    sample_interval_s: int = 60
    max_clock_skew_s: int = 300
    # PROGRAM_RULES.md: P3's usage is checked against its plan; the same policy is available to P1 and P2, switched
    # on per program. An allocation of another program has its usage recorded but is never put on the ladder.
    monitored_programs: frozenset[ProgramCode] = frozenset({"P3"})

    def monitors(self, program: ProgramCode) -> bool:
        return program in self.monitored_programs

    def latest_instant(self, received_at: datetime) -> datetime:
        """The latest instant a sample received at `received_at` may be dated: the clocks may disagree a little."""
        return shifted_seconds(received_at, self.max_clock_skew_s)


class Ladder(StrEnum):
    NONE = "none"
    WARNED = "warned"
    RECLAIM_REQUESTED = "reclaim_requested"


class Step(StrEnum):
    """What an evaluation did to the ladder."""

    WARNING = "warning"
    RECLAIM = "reclaim"
    RECOVERED = "recovered"


@dataclass(frozen=True)
class Slot:
    """One GPU of an allocation; samples name it by server and GPU index."""

    server_name: str
    gpu_index: int
    csp: str = field(default="", compare=False)


@dataclass(frozen=True)
class Sample:
    """One CSP reading: a GPU's busy % (DCGM) at an instant."""

    server_name: str
    gpu_index: int
    ts: datetime
    utilization_pct: float


@dataclass(frozen=True)
class HostMapping:
    """A CSP's name for a host (the exporter's `Hostname` label) and the server it is known as here.

    Without one, a host's name is its server's name."""

    csp: str
    hostname: str
    server_name: str


@dataclass(frozen=True)
class Window:
    """The trailing window an allocation is judged on: (start, end], end being its newest sample."""

    start: datetime
    end: datetime
    utilization_pct: float
    samples: int

    @classmethod
    def ending_at(cls, end: datetime, days: int, utilization_pct: float, samples: int) -> Window:
        return cls(shifted(end, -days), end, utilization_pct, samples)


@dataclass
class BatchUsage:
    """What one batch's new samples add to one allocation."""

    allocation_id: UUID
    first_ts: datetime
    last_ts: datetime
    samples: int = 0
    utilization_pct_sum: float = 0.0

    @classmethod
    def starting_with(cls, allocation_id: UUID, sample: Sample) -> BatchUsage:
        usage = cls(allocation_id, first_ts=sample.ts, last_ts=sample.ts)
        usage.add(sample)
        return usage

    def add(self, sample: Sample) -> None:
        self.samples += 1
        self.utilization_pct_sum += sample.utilization_pct
        self.first_ts = min(self.first_ts, sample.ts)
        self.last_ts = max(self.last_ts, sample.ts)

    @property
    def utilization_pct(self) -> float:
        return self.utilization_pct_sum / self.samples if self.samples else 0.0

    def gpu_hours(self, sample_interval_s: int) -> float:
        """Each sample stands for one GPU busy at its % for one sample interval."""
        return self.utilization_pct_sum / 100 * sample_interval_s / SECONDS_PER_HOUR


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

    def covers(self, sample: Sample) -> bool:
        return self.starts_at <= sample.ts < self.until

    @property
    def is_evaluated(self) -> bool:
        """Once ended or once its reclaim is requested, the ladder has nothing more to say."""
        return self.ended_at is None and self.ladder is not Ladder.RECLAIM_REQUESTED

    def evaluate(self, window: Window, policy: Policy) -> Step | None:
        """Move the ladder on the window's mean; returns the step taken, if any."""
        if not self.is_evaluated or window.samples == 0:
            return None
        if window.utilization_pct >= self.threshold_pct(policy):
            if self.ladder is Ladder.WARNED:
                self.ladder, self.warned_at = Ladder.NONE, None
                return Step.RECOVERED
            return None
        if self.ladder is Ladder.NONE:
            self.ladder, self.warned_at = Ladder.WARNED, window.end
            if policy.grace_days > 0:
                return Step.WARNING
        # without a grace period the first drop falls straight through to the reclaim
        if self.warned_at is not None and window.end >= shifted(self.warned_at, policy.grace_days):
            self.ladder = Ladder.RECLAIM_REQUESTED
            return Step.RECLAIM
        return None

    def end(self, at: datetime) -> None:
        if self.ended_at is None:
            self.ended_at = at

    def hosted_by(self, csp: str) -> bool:
        """Whether the CSP hosts any of its GPUs (an allocation may span servers of several CSPs)."""
        return any(slot.csp == csp for slot in self.slots)


def attribute(samples: Iterable[Sample], allocations: Iterable[Allocation]) -> dict[UUID, BatchUsage]:
    """Each sample goes to the allocation that held its GPU at its instant (to none, if it was free)."""
    holders: dict[tuple[str, int], list[Allocation]] = defaultdict(list)
    for allocation in allocations:
        for slot in allocation.slots:
            holders[slot.server_name, slot.gpu_index].append(allocation)
    usage: dict[UUID, BatchUsage] = {}
    for sample in samples:
        for allocation in holders.get((sample.server_name, sample.gpu_index), ()):
            if not allocation.covers(sample):
                continue
            if allocation.id in usage:
                usage[allocation.id].add(sample)
            else:
                usage[allocation.id] = BatchUsage.starting_with(allocation.id, sample)
    return usage


def _foreign(sample: Sample, owners: Mapping[str, Set[str]], csp: str) -> bool:
    return bool(owners.get(sample.server_name, set()) - {csp})


def on_servers(samples: Iterable[Sample], servers: Mapping[str, str]) -> tuple[Sample, ...]:
    """Samples named by host, renamed to the server each host is mapped to; an unmapped host is its own server."""
    return tuple(replace(s, server_name=servers.get(s.server_name, s.server_name)) for s in samples)


@dataclass(frozen=True)
class Triage:
    """A batch sorted out before it is stored: what may be stored, and what may not, each with its line."""

    kept: tuple[Sample, ...]
    future: tuple[tuple[int, Sample], ...]
    foreign: tuple[tuple[int, Sample], ...]


def triage(samples: Sequence[Sample], line_numbers: Sequence[int], *, latest: datetime,
           owners: Mapping[str, Set[str]], csp: str) -> Triage:
    """Samples dated after `latest` are in the future, whoever's server they name; the others on a server tracked
    as another CSP's are foreign; the rest are kept (a server no allocation has named yet is anybody's)."""
    kept: list[Sample] = []
    future: list[tuple[int, Sample]] = []
    foreign: list[tuple[int, Sample]] = []
    for sample, line in zip(samples, line_numbers, strict=True):
        if sample.ts > latest:
            future.append((line, sample))
        elif _foreign(sample, owners, csp):
            foreign.append((line, sample))
        else:
            kept.append(sample)
    return Triage(tuple(kept), tuple(future), tuple(foreign))


def held_by_none(samples: Iterable[Sample], allocations: Iterable[Allocation]) -> int:
    """How many of the samples no allocation held: their GPU was nobody's at their instant."""
    holders: dict[tuple[str, int], list[Allocation]] = defaultdict(list)
    for allocation in allocations:
        for slot in allocation.slots:
            holders[slot.server_name, slot.gpu_index].append(allocation)
    return sum(1 for s in samples
               if not any(a.covers(s) for a in holders.get((s.server_name, s.gpu_index), ())))


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
