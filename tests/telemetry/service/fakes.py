"""Telemetry's repositories in memory, behind the service layer's ports (telemetry.service.unit_of_work), for the
fast tier, and what the tests start from.

They share one set of tables (`Tables`), as the SQL repositories share one database, and answer as those do:
- `get`, `holding` and `silent` hand out copies in id order (a change counts once saved); `add` refuses an
  allocation tracked already and keeps its GPUs once each, in (server, index) order; `save` writes only the ladder,
  warning, end, waiver and staleness;
- `holding` gives the allocations with a GPU on one of the samples' servers whose period overlaps the samples' span;
  `owners` names the CSPs of the slots that name one; `by_uuid` finds the GPUs the slots of any tracked allocation
  carry;
- `silent` gives the allocations under way at `now` (started by `quiet_since`, not ended, their period not over), of
  the programs, not asked to be reclaimed nor known stale, whose newest counted sample (or start, before any) is
  older than `quiet_since`;
- a sample is stored once per GPU and instant (once from one batch as well, the first of it), only into a day that
  has its partition, as PostgreSQL refuses a row no partition takes; the new ones are summed into their GPU's hour
  and returned, the others not;
- the allocations' hours add each tally; `newest` is the last sample of the allocation's latest hour, `sums` takes
  the hours from the first to the last included, and `close` closes at most `limit` open hours that start before
  `through` (and as many GPU hours), in (hour, allocation) order, each with its p95 from the raw samples the
  allocation's GPUs reported within the hour and its period, and returns them; a closed hour is never returned again;
- a partition is a day: `ensure` creates the days missing, `drop_before` drops the older days with their raw samples
  (the rollups stay); a CSP's host mapping is its own (another CSP's mapping of the same hostname is another row).
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

from servicekit.bus import MessageBus
from servicekit.clock import Clock
from support.auth import csp_id
from support.fakes import FakeUnitOfWork, fake_bus
from telemetry.domain.commands import RecordSamples, TrackAllocation
from telemetry.domain.model import (
    Allocation,
    HostMapping,
    HourTally,
    Ladder,
    Policy,
    ProgramCode,
    Sample,
    Slot,
    Step,
    StepTaken,
    StoredBatch,
    held_by_none,
    hour_of,
)
from telemetry.domain.model import tally as tally_samples
from telemetry.domain.rollups import ClosedHour, HourUsage, UsageSums
from telemetry.service.handlers import HANDLERS
from telemetry.service.unit_of_work import TelemetryUnitOfWork

SampleKey = tuple[str, int, datetime]
GpuKey = tuple[str, int]
HOUR = timedelta(hours=1)


class NoPartition(LookupError):
    """PostgreSQL's "no partition of relation sample found for row": the handler ensures the day's partition first."""


@dataclass
class Rollup:
    """One row of an hourly rollup: a GPU's hour (gpu_hour) or an allocation's (allocation_hour)."""

    hour: datetime
    samples: int = 0
    utilization_pct_sum: float = 0.0
    utilization_pct_max: float = 0.0
    in_use_samples: int = 0
    memory_mib_sum: float = 0.0
    memory_samples: int = 0
    power_w_sum: float = 0.0
    power_samples: int = 0
    last_ts: datetime | None = None
    utilization_pct_p95: float | None = None
    closed: bool = False

    def add_sample(self, sample: Sample) -> None:
        """A GPU's hour: the sums the domain keeps of a sample (no allocation, none in use), and the busiest."""
        one = HourTally(UUID(int=0), self.hour)
        one.add(sample, in_use_pct=math.inf)
        self.add_tally(one)
        self.utilization_pct_max = max(self.utilization_pct_max, sample.utilization_pct)

    def add_tally(self, tally: HourTally) -> None:
        self.samples += tally.samples
        self.utilization_pct_sum += tally.utilization_pct_sum
        self.in_use_samples += tally.in_use_samples
        self.memory_mib_sum += tally.memory_mib_sum
        self.memory_samples += tally.memory_samples
        self.power_w_sum += tally.power_w_sum
        self.power_samples += tally.power_samples
        if tally.last_ts is not None:
            self.last_ts = tally.last_ts if self.last_ts is None else max(self.last_ts, tally.last_ts)

    def usage(self) -> HourUsage:
        assert self.last_ts is not None  # a row is written with its first sample
        return HourUsage(hour=self.hour, samples=self.samples, utilization_pct_sum=self.utilization_pct_sum,
                         memory_mib_sum=self.memory_mib_sum, memory_samples=self.memory_samples,
                         power_w_sum=self.power_w_sum, power_samples=self.power_samples, last_ts=self.last_ts,
                         utilization_pct_p95=self.utilization_pct_p95, closed=self.closed,
                         in_use_samples=self.in_use_samples)


def p95(values: Iterable[float]) -> float | None:
    """PostgreSQL's percentile_cont(0.95): interpolated between the two nearest values; None over no value."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = 0.95 * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Tables:
    """What the database holds, shared by the repositories of one fake unit of work."""

    allocations: dict[UUID, Allocation] = field(default_factory=dict)
    samples: dict[SampleKey, Sample] = field(default_factory=dict)
    gpus: dict[GpuKey, str] = field(default_factory=dict)  # each GPU a sample named → the CSP that first reported it
    gpu_hours: dict[tuple[str, int, datetime], Rollup] = field(default_factory=dict)
    allocation_hours: dict[tuple[UUID, datetime], Rollup] = field(default_factory=dict)
    steps: dict[UUID, list[StepTaken]] = field(default_factory=lambda: defaultdict(list))
    partitions: set[date] = field(default_factory=set)
    hosts: dict[tuple[UUID, str], HostMapping] = field(default_factory=dict)

    def hours_of(self, allocation_id: UUID) -> dict[datetime, Rollup]:
        return {hour: row for (held_by, hour), row in self.allocation_hours.items() if held_by == allocation_id}


def _copy(allocation: Allocation) -> Allocation:
    return replace(allocation, slots=list(allocation.slots))


class InMemoryAllocations:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self.by_id = tables.allocations

    def __getitem__(self, allocation_id: UUID) -> Allocation:
        return self.by_id[allocation_id]

    async def add(self, tracked: Allocation) -> bool:
        if tracked.id in self.by_id:
            return False
        slots = sorted(dict.fromkeys(tracked.slots), key=lambda s: (s.server_name, s.gpu_index))
        self.by_id[tracked.id] = replace(tracked, slots=slots)
        return True

    async def get(self, allocation_id: UUID, *, for_update: bool = False) -> Allocation | None:
        found = self.by_id.get(allocation_id)
        return _copy(found) if found else None

    async def many(self, allocation_ids: Collection[UUID], *, for_update: bool = False) -> list[Allocation]:
        return [_copy(self.by_id[i]) for i in sorted(allocation_ids) if i in self.by_id]

    async def owners(self, servers: Collection[str]) -> dict[str, set[UUID]]:
        found: dict[str, set[UUID]] = defaultdict(set)
        for allocation in self.by_id.values():
            for slot in allocation.slots:
                if slot.server_name in servers and slot.csp_id:
                    found[slot.server_name].add(slot.csp_id)
        return dict(found)

    async def save(self, tracked: Allocation) -> None:
        stored = self.by_id[tracked.id]
        self.by_id[tracked.id] = replace(stored, ladder=tracked.ladder, warned_at=tracked.warned_at,
                                         ended_at=tracked.ended_at, waived_at=tracked.waived_at,
                                         stale_since=tracked.stale_since)

    async def silent(self, *, quiet_since: datetime, now: datetime, programs: Collection[str]) -> list[Allocation]:
        def quiet(a: Allocation) -> bool:
            newest = max((row.last_ts for row in self._tables.hours_of(a.id).values() if row.last_ts), default=None)
            return (a.ended_at is None and a.stale_since is None and a.ladder is not Ladder.RECLAIM_REQUESTED
                    and a.program in programs and a.starts_at <= quiet_since and a.until > now
                    and (newest or a.starts_at) < quiet_since)

        return [_copy(a) for a in sorted(self.by_id.values(), key=lambda a: a.id) if quiet(a)]

    async def by_uuid(self, uuids: Collection[str]) -> dict[str, tuple[str, int]]:
        return {slot.gpu_uuid: (slot.server_name, slot.gpu_index) for a in self.by_id.values() for slot in a.slots
                if slot.gpu_uuid is not None and slot.gpu_uuid in uuids}


class InMemorySamples:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self.by_key = tables.samples

    async def add_new(self, samples: Sequence[Sample], *, csp_id: UUID, in_use_pct: float) -> StoredBatch:
        new = []
        for s in sorted(samples, key=lambda s: (s.server_name, s.gpu_index, s.ts)):
            key = (s.server_name, s.gpu_index, s.ts)
            if s.ts.astimezone(UTC).date() not in self._tables.partitions:
                raise NoPartition(f"no partition of relation sample found for row at {s.ts.isoformat()}")
            self._tables.gpus.setdefault((s.server_name, s.gpu_index), str(csp_id))
            if key in self.by_key:
                continue
            self.by_key[key] = s
            new.append(s)
            hour = hour_of(s.ts)
            self._tables.gpu_hours.setdefault((s.server_name, s.gpu_index, hour), Rollup(hour)).add_sample(s)
        allocations = list(self._tables.allocations.values())
        tallies = tally_samples(new, allocations, in_use_pct=in_use_pct)
        for t in tallies:
            self._tables.allocation_hours.setdefault((t.allocation_id, t.hour), Rollup(t.hour)).add_tally(t)
        return StoredBatch(new=len(new), unheld=held_by_none(new, allocations),
                           allocation_ids=tuple(sorted({t.allocation_id for t in tallies})))


class InMemoryUsage:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def of(self, allocation_id: UUID) -> dict[datetime, HourUsage]:
        """The allocation's hours as they stand, by hour (for the tests)."""
        return {hour: row.usage() for hour, row in sorted(self._tables.hours_of(allocation_id).items())}

    async def backfill(self, allocation_id: UUID, *, in_use_pct: float) -> None:
        allocation = self._tables.allocations[allocation_id]
        gpus = {(slot.server_name, slot.gpu_index) for slot in allocation.slots}
        found = [s for (server, index, _), s in self._tables.samples.items()
                 if (server, index) in gpus and allocation.covers(s)]
        for tally in tally_samples(found, [allocation], in_use_pct=in_use_pct):
            self._tables.allocation_hours.setdefault((allocation_id, tally.hour), Rollup(tally.hour)).add_tally(tally)

    async def newest(self, allocation_ids: Collection[UUID]) -> dict[UUID, datetime]:
        found = {}
        for allocation_id in allocation_ids:
            hours = self._tables.hours_of(allocation_id)
            if hours and (last := hours[max(hours)].last_ts) is not None:
                found[allocation_id] = last
        return found

    async def sums(self, spans: Sequence[tuple[UUID, datetime, datetime]]) -> list[UsageSums]:
        totals = []
        for allocation_id, first_hour, last_hour in spans:
            rows = [row for hour, row in self._tables.hours_of(allocation_id).items()
                    if first_hour <= hour <= last_hour]
            totals.append(UsageSums(samples=sum(r.samples for r in rows),
                                    utilization_pct_sum=sum(r.utilization_pct_sum for r in rows),
                                    in_use_samples=sum(r.in_use_samples for r in rows),
                                    last_ts=max((r.last_ts for r in rows if r.last_ts), default=None)))
        return totals

    async def close(self, through: datetime, *, limit: int) -> list[ClosedHour]:
        t = self._tables
        gpu_due = [k for k, row in t.gpu_hours.items() if not row.closed and k[2] < through]
        for server, index, hour in sorted(gpu_due, key=lambda k: (k[2], k[0], k[1]))[:limit]:
            gpu_hour = t.gpu_hours[server, index, hour]
            gpu_hour.closed = True
            gpu_hour.utilization_pct_p95 = p95(
                s.utilization_pct for (sv, ix, ts), s in t.samples.items()
                if (sv, ix) == (server, index) and hour <= ts < hour + HOUR)
        closed = []
        for allocation_id, hour in sorted(k for k, row in t.allocation_hours.items()
                                          if not row.closed and k[1] < through)[:limit]:
            row = t.allocation_hours[allocation_id, hour]
            row.closed, row.utilization_pct_p95 = True, self._p95(allocation_id, hour)
            closed.append(ClosedHour(allocation_id, row.usage()))
        return closed

    def _p95(self, allocation_id: UUID, hour: datetime) -> float | None:
        allocation = self._tables.allocations.get(allocation_id)
        if allocation is None:
            return None
        gpus = {(slot.server_name, slot.gpu_index) for slot in allocation.slots}
        return p95(s.utilization_pct for (server, index, ts), s in self._tables.samples.items()
                   if (server, index) in gpus and hour <= ts < hour + HOUR
                   and allocation.starts_at <= ts < allocation.until)


class InMemorySteps:
    def __init__(self, tables: Tables) -> None:
        self.taken = tables.steps

    def of(self, allocation_id: UUID) -> list[Step]:
        """The allocation's ladder history, step by step (for the tests)."""
        return [t.step for t in self.taken.get(allocation_id, [])]

    async def add(self, allocation_id: UUID, taken: StepTaken) -> None:
        self.taken[allocation_id].append(taken)


class InMemoryPartitions:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self.days = tables.partitions

    async def ensure(self, days: Collection[date]) -> list[date]:
        created = sorted(set(days) - self.days)
        self.days.update(created)
        return created

    async def drop_before(self, day: date) -> list[date]:
        dropped = sorted(d for d in self.days if d < day)
        self.days.difference_update(dropped)
        samples = self._tables.samples
        for key in [k for k in samples if k[2].astimezone(UTC).date() < day]:
            del samples[key]
        return dropped


class InMemoryHosts:
    def __init__(self, tables: Tables) -> None:
        self.by_key = tables.hosts

    async def servers(self, csp_id: UUID, hostnames: Collection[str]) -> dict[str, str]:
        return {h: self.by_key[csp_id, h].server_name for h in hostnames if (csp_id, h) in self.by_key}

    async def put(self, mapping: HostMapping) -> None:
        self.by_key[mapping.csp_id, mapping.hostname] = mapping

    async def remove(self, csp_id: UUID, hostname: str) -> bool:
        return self.by_key.pop((csp_id, hostname), None) is not None


class FakeTelemetryUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.tables = Tables()
        self.allocations = InMemoryAllocations(self.tables)
        self.samples = InMemorySamples(self.tables)
        self.usage = InMemoryUsage(self.tables)
        self.steps = InMemorySteps(self.tables)
        self.partitions = InMemoryPartitions(self.tables)
        self.hosts = InMemoryHosts(self.tables)


def _fits(uow: FakeTelemetryUnitOfWork) -> TelemetryUnitOfWork:
    return uow  # mypy proves here that the fake meets the service layer's port


# what the tests start from: the ladder's default numbers (PROGRAM_RULES.md), but a window is judged on an hour of
# reserved time (a day by default), so that an hour of samples is enough
POLICY = Policy(min_judged_hours=1)
SERVER = "p3-gov-01"


def telemetry_bus(uow: FakeTelemetryUnitOfWork, clock: Clock, policy: Policy = POLICY) -> MessageBus:
    return fake_bus(uow, HANDLERS, clock=clock, policy=policy)


def allocated(starts_at: datetime, *, gpus: int = 2, planned_gpu_hours_per_month: int = 730, server: str = SERVER,
              first_gpu: int = 0, csp: str = "gov", program: ProgramCode = "P3",
              uuids: Sequence[str] = ()) -> TrackAllocation:
    """On `csp`'s server (by the id csp_id(csp)). 2 GPUs planned at 730 h/month by default: 50% planned, so a 15%
    threshold (warn_ratio 0.30), and 1 planned GPU-hour an hour of the window (half of the 2 reserved), so 0.5
    required (hours_ratio 0.50)."""
    return TrackAllocation(allocation_id=uuid4(), application_id=uuid4(), program=program, gpus=gpus,
                           starts_at=starts_at, ends_at=starts_at + timedelta(days=90),
                           planned_gpu_hours_per_month=planned_gpu_hours_per_month,
                           slots=tuple(Slot(server, first_gpu + i, csp, uuids[i] if uuids else None, csp_id(csp))
                                       for i in range(gpus)))


def minutes_of(start: datetime, utilization_pct: float, *, minutes: int = 30, gpus: Iterable[int] = (0, 1),
               server: str = SERVER) -> tuple[Sample, ...]:
    """A sample a minute per GPU from `start`, each at `utilization_pct`; 61 minutes from an hour cover it whole:
    the window then ends on the next hour, and 122 samples of 2 GPUs are more than its 120 expected."""
    return tuple(Sample(server, gpu, start + timedelta(minutes=m), utilization_pct)
                 for m in range(minutes) for gpu in gpus)


def hours_of(start: datetime, utilization_pct: float, *, hours: int, gpus: Iterable[int] = (0, 1),
             server: str = SERVER) -> tuple[Sample, ...]:
    """A sample an hour per GPU from `start` (with sample_interval_s 3600, each stands for a GPU-hour)."""
    return tuple(Sample(server, gpu, start + timedelta(hours=h), utilization_pct)
                 for h in range(hours) for gpu in gpus)


def batch(samples: tuple[Sample, ...], *, csp: str = "gov") -> RecordSamples:
    """An NDJSON batch from the CSP of this name (by its id, csp_id(csp)), received a minute after its newest
    sample."""
    received_at = max(s.ts for s in samples) + timedelta(minutes=1)
    return RecordSamples(samples, csp_id=csp_id(csp), received_at=received_at,
                         line_numbers=tuple(range(1, len(samples) + 1)))
