"""Telemetry's repositories in memory, behind the service layer's ports (telemetry.service.unit_of_work), for the
fast tier.

They answer as the SQL repositories do: `get` and `holding` hand out copies in id order (a change counts once saved),
`add` refuses an allocation tracked already, a sample stored already is not stored again (nor twice from one
batch), the window is the trailing `days` up to the allocation's newest sample within its period, and a CSP's host
mapping is its own (another CSP's mapping of the same hostname is another row).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from servicekit.bus import MessageBus
from servicekit.clock import Clock
from support.fakes import FakeUnitOfWork, fake_bus
from telemetry.domain.commands import TrackAllocation
from telemetry.domain.model import Allocation, HostMapping, Policy, ProgramCode, Sample, Slot, Window
from telemetry.service.handlers import HANDLERS
from telemetry.service.unit_of_work import TelemetryUnitOfWork

SampleKey = tuple[str, int, datetime]


def _copy(allocation: Allocation) -> Allocation:
    return replace(allocation, slots=list(allocation.slots))


class InMemoryAllocations:
    def __init__(self) -> None:
        self.by_id: dict[UUID, Allocation] = {}

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

    async def holding(self, samples: Sequence[Sample], *, for_update: bool = False) -> list[Allocation]:
        if not samples:
            return []
        servers = {s.server_name for s in samples}
        earliest, latest = min(s.ts for s in samples), max(s.ts for s in samples)
        found = [a for a in self.by_id.values() if any(slot.server_name in servers for slot in a.slots)
                 and a.starts_at <= latest and a.until > earliest]
        return [_copy(a) for a in sorted(found, key=lambda a: a.id)]

    async def owners(self, servers: Collection[str]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        for allocation in self.by_id.values():
            for slot in allocation.slots:
                if slot.server_name in servers and slot.csp:
                    found[slot.server_name].add(slot.csp)
        return dict(found)

    async def save(self, tracked: Allocation) -> None:
        stored = self.by_id[tracked.id]
        self.by_id[tracked.id] = replace(stored, ladder=tracked.ladder, warned_at=tracked.warned_at,
                                         ended_at=tracked.ended_at)


class InMemorySamples:
    def __init__(self) -> None:
        self.by_key: dict[SampleKey, Sample] = {}

    async def add_new(self, samples: Iterable[Sample]) -> list[Sample]:
        new = []
        for s in sorted(samples, key=lambda s: (s.server_name, s.gpu_index, s.ts)):
            if (s.server_name, s.gpu_index, s.ts) not in self.by_key:
                self.by_key[s.server_name, s.gpu_index, s.ts] = s
                new.append(s)
        return new

    async def window(self, tracked: Allocation, *, days: int) -> Window | None:
        gpus = {(slot.server_name, slot.gpu_index) for slot in tracked.slots}
        held = [s for s in self.by_key.values()
                if (s.server_name, s.gpu_index) in gpus and tracked.starts_at <= s.ts < tracked.until]
        if not held:
            return None
        end = max(s.ts for s in held)
        counted = [s.utilization_pct for s in held if s.ts > end - timedelta(days=days)]
        return Window.ending_at(end, days, sum(counted) / len(counted), len(counted))


class InMemoryHosts:
    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str], HostMapping] = {}

    async def servers(self, csp: str, hostnames: Collection[str]) -> dict[str, str]:
        return {h: self.by_key[csp, h].server_name for h in hostnames if (csp, h) in self.by_key}

    async def put(self, mapping: HostMapping) -> None:
        self.by_key[mapping.csp, mapping.hostname] = mapping

    async def remove(self, csp: str, hostname: str) -> bool:
        return self.by_key.pop((csp, hostname), None) is not None


class FakeTelemetryUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.allocations = InMemoryAllocations()
        self.samples = InMemorySamples()
        self.hosts = InMemoryHosts()


def _fits(uow: FakeTelemetryUnitOfWork) -> TelemetryUnitOfWork:
    return uow  # mypy proves here that the fake meets the service layer's port


# what the tests start from: the ladder's default numbers (PROGRAM_RULES.md)
POLICY = Policy(warn_ratio=0.30, window_days=7, grace_days=7, sample_interval_s=60)
SERVER = "p3-gov-01"


def telemetry_bus(uow: FakeTelemetryUnitOfWork, clock: Clock, policy: Policy = POLICY) -> MessageBus:
    return fake_bus(uow, HANDLERS, clock=clock, policy=policy)


def allocated(starts_at: datetime, *, gpus: int = 2, planned_gpu_hours_per_month: int = 730, server: str = SERVER,
              first_gpu: int = 0, csp: str = "gov", program: ProgramCode = "P3") -> TrackAllocation:
    """2 GPUs planned at 730 h/month by default: 50% planned, so a 15% threshold."""
    return TrackAllocation(allocation_id=uuid4(), application_id=uuid4(), program=program, gpus=gpus,
                           starts_at=starts_at, ends_at=starts_at + timedelta(days=90),
                           planned_gpu_hours_per_month=planned_gpu_hours_per_month,
                           slots=tuple(Slot(server, first_gpu + i, csp) for i in range(gpus)))


def minutes_of(start: datetime, utilization_pct: float, *, minutes: int = 30, gpus: Iterable[int] = (0, 1),
               server: str = SERVER) -> tuple[Sample, ...]:
    """A sample a minute per GPU from `start`, each at `utilization_pct`."""
    return tuple(Sample(server, gpu, start + timedelta(minutes=m), utilization_pct)
                 for m in range(minutes) for gpu in gpus)
