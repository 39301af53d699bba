"""Inventory (CSPs, servers, their GPUs), placement of a request onto free GPUs, and an allocation's life cycle.

An allocation is active until it is reclaimed (low utilization, misuse, operator) or released (withdrawn). GPUs held
for an offer are an allocation too (`offered`), so the same exclusion constraint guards them; an offer that is not
taken up lapses and holds nothing.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from allocation.domain.errors import AllocationEnded, InvalidInput

ProgramCode = Literal["P1", "P2", "P3"]  # a support program, and the pool of GPUs that serves it
# the programs are Korea's: a period "from 3 December" holds its GPUs from 00:00 on 3 December in Korea, the day intake
# and evaluation judge it by and billing cuts months on (UTC's midnight is 09:00 there)
PROGRAM_ZONE = ZoneInfo("Asia/Seoul")
POOLS: tuple[ProgramCode, ...] = ("P1", "P2", "P3")
# NVIDIA's UUID of a GPU as nvidia-smi reports it and the DCGM exporter labels its samples (`UUID`); the contracts'
# GpuUuid has the same pattern
GPU_UUID_PATTERN = r"^GPU-[0-9a-fA-F-]{8,64}$"
_GPU_UUID = re.compile(GPU_UUID_PATTERN)
GPU_UUIDS = "gpu_uuids"


class Status(StrEnum):
    OFFERED = "offered"
    ACTIVE = "active"
    RECLAIMED = "reclaimed"
    RELEASED = "released"
    LAPSED = "lapsed"


@dataclass(frozen=True)
class Csp:
    id: UUID
    name: str


@dataclass(frozen=True)
class Server:
    """A physical server in one pool; its GPUs are numbered 0 .. gpus-1."""

    id: UUID
    csp_id: UUID
    csp: str
    name: str
    region: str
    gpu_model: str
    gpus: int
    pool: ProgramCode
    gpu_uuids: tuple[str, ...] = ()  # none, or one per GPU in index order (gpu_uuids())

    def __post_init__(self) -> None:
        if self.gpus < 1:
            raise InvalidInput("gpus", "a server holds at least one GPU")
        if self.pool not in POOLS:
            raise InvalidInput("pool", f"must be one of {', '.join(POOLS)}")
        if gpu_uuids(self.gpu_uuids, self.gpus) != self.gpu_uuids:
            raise InvalidInput(GPU_UUIDS, "must be in lower case, as gpu_uuids() writes them")

    def slot(self, gpu_index: int) -> Slot:
        """One GPU of this server; the index must exist on it (the database cannot check this)."""
        if not 0 <= gpu_index < self.gpus:
            raise InvalidInput("gpu_index", f"{self.name} has GPUs 0..{self.gpus - 1}, not {gpu_index}")
        return Slot(server_id=self.id, server_name=self.name, csp=self.csp, csp_id=self.csp_id, gpu_index=gpu_index,
                    gpu_uuid=self.gpu_uuids[gpu_index] if self.gpu_uuids else None)

    def free_slots(self, taken: set[int]) -> list[Slot]:
        return [self.slot(i) for i in range(self.gpus) if i not in taken]


@dataclass(frozen=True, order=True)
class Slot:
    """One concrete GPU; ordered by server name, then GPU index."""

    server_name: str
    gpu_index: int
    server_id: UUID = field(compare=False)
    csp: str = field(compare=False)
    csp_id: UUID = field(compare=False)
    gpu_uuid: str | None = field(default=None, compare=False)  # as the inventory has it now


def gpu_uuids(values: Iterable[str], gpus: int) -> tuple[str, ...]:
    """A server's GPU UUIDs, in GPU index order: none at all, or one per GPU, each once.

    Written as nvidia-smi and DCGM write them, "GPU-" and lower-case hex, so that one GPU is one value whatever case
    the operator typed. Every fault is named: `gpu_uuids` for the count, `gpu_uuids.<i>` for one value."""
    found = tuple(v[:4] + v[4:].lower() for v in values)
    problems = [(f"{GPU_UUIDS}.{i}", f"must match {GPU_UUID_PATTERN}, e.g. GPU-5d5e7a9c-1b2f-4c3d-9e8f-0123456789ab")
                for i, v in enumerate(found) if not _GPU_UUID.fullmatch(v)]
    first: dict[str, int] = {}
    for i, v in enumerate(found):
        if v in first:
            problems.append((f"{GPU_UUIDS}.{i}", f"repeats {GPU_UUIDS}.{first[v]}: each GPU has its own UUID"))
        first.setdefault(v, i)
    if found and len(found) != gpus:
        problems.append((GPU_UUIDS, f"{len(found)} given for {gpus} GPUs: one per GPU in index order, or none"))
    if problems:
        (field_at_fault, reason), *more = problems
        raise InvalidInput(field_at_fault, reason, *more)
    return found


def choose_slots(gpus: int, free: list[list[Slot]]) -> list[Slot] | None:
    """Pick `gpus` GPUs from the free GPUs of each server, or None when they do not fit.

    A single server is preferred, the fullest one that fits (least fragmentation). Otherwise the fewest servers:
    the emptiest ones, then the fullest server that still covers the remainder. Ties go by server name.
    """
    servers = sorted((sorted(slots) for slots in free if slots), key=lambda s: (len(s), s[0].server_name))
    if gpus < 1 or sum(len(s) for s in servers) < gpus:
        return None
    single = next((s for s in servers if len(s) >= gpus), None)
    if single is not None:
        return single[:gpus]
    biggest_first = sorted(servers, key=lambda s: (-len(s), s[0].server_name))
    chosen: list[Slot] = []
    while gpus - len(chosen) > len(biggest_first[0]):
        chosen += biggest_first.pop(0)
    remainder = gpus - len(chosen)
    best_fit = min((s for s in biggest_first if len(s) >= remainder),
                   key=lambda s: (len(s), s[0].server_name))
    return sorted(chosen + best_fit[:remainder])


def program_day(at: datetime) -> date:
    """The day `at` falls on in the programs' calendar (Korea's)."""
    return at.astimezone(PROGRAM_ZONE).date()


def day_start(day: date) -> datetime:
    """00:00 of `day` in Korea, as a UTC instant (15:00 UTC the day before, at today's offset)."""
    return datetime.combine(day, time(), PROGRAM_ZONE).astimezone(UTC)


def allocation_period(period_start: date, period_end: date) -> tuple[datetime, datetime]:
    """The requested days, whole days in Korea: [period_start 00:00, the day after period_end 00:00)."""
    if period_end < period_start:
        raise InvalidInput("period_end", "must not be before period_start")
    return day_start(period_start), day_start(period_end + timedelta(days=1))


@dataclass
class Allocation:
    id: UUID
    application_id: UUID
    program: ProgramCode
    gpu_model: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    slots: list[Slot]
    status: Status = Status.ACTIVE
    ended_at: datetime | None = None
    end_reason: str = ""
    warned_at: datetime | None = None
    waived_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.ends_at <= self.starts_at:
            raise InvalidInput("ends_at", "must be after starts_at")
        if len(self.slots) != self.gpus or len(set(self.slots)) != self.gpus:
            raise InvalidInput("slots", f"{self.gpus} distinct GPUs are needed, got {len(self.slots)}")

    @property
    def is_active(self) -> bool:
        return self.status is Status.ACTIVE

    def warn(self, at: datetime) -> bool:
        """Record a low-utilization warning; an ended allocation ignores it."""
        if not self.is_active:
            return False
        self.warned_at = at if self.warned_at is None else max(self.warned_at, at)
        return True

    def recover(self, at: datetime) -> bool:
        """Utilization came back by `at`: the warning given before it no longer stands, and the ladder starts over
        (a later drop warns again). A recovery older than the latest warning, or with nothing to clear, is no
        change."""
        if not self.is_active or self.warned_at is None or at < self.warned_at:
            return False
        self.warned_at = None
        return True

    @property
    def warning_stands(self) -> bool:
        return self.warned_at is not None

    def waive(self, at: datetime) -> None:
        """An operator waives the reclaim ladder: a reclaim for a warning given before `at` is not carried out."""
        if not self.is_active:
            raise AllocationEnded(f"allocation {self.id} is {self.status}")
        self.waived_at = at

    @property
    def reclaim_waived(self) -> bool:
        """Waived after the latest warning (a new warning after the waiver re-arms the ladder)."""
        return self.waived_at is not None and (self.warned_at is None or self.waived_at >= self.warned_at)

    def take_up(self) -> None:
        """The offer was accepted: the held GPUs become the holder's."""
        if self.status is not Status.OFFERED:
            raise AllocationEnded(f"allocation {self.id} is {self.status}, not offered")
        self.status = Status.ACTIVE

    def lapse(self, reason: str) -> None:
        """The offer was not taken up: the hold ends before it began, so it holds no GPU at any time."""
        if self.status is not Status.OFFERED:
            raise AllocationEnded(f"allocation {self.id} is {self.status}, not offered")
        self.status, self.end_reason, self.ended_at = Status.LAPSED, reason, self.starts_at

    def reclaim(self, reason: str, at: datetime) -> datetime:
        """Take the GPUs back as of `at` (clamped into the period); returns the effective end."""
        return self._end(Status.RECLAIMED, reason, at)

    def release(self, reason: str, at: datetime) -> datetime:
        """The holder gives the GPUs back (withdrawal) as of `at`, clamped into the period."""
        return self._end(Status.RELEASED, reason, at)

    def _end(self, status: Status, reason: str, at: datetime) -> datetime:
        if not self.is_active:
            raise AllocationEnded(f"allocation {self.id} is already {self.status}")
        self.status, self.end_reason = status, reason
        self.ended_at = min(max(at, self.starts_at), self.ends_at)
        return self.ended_at


def allocate(allocation_id: UUID, application_id: UUID, program: ProgramCode, gpu_model: str,
             period: tuple[datetime, datetime], slots: list[Slot], status: Status = Status.ACTIVE) -> Allocation:
    return Allocation(id=allocation_id, application_id=application_id, program=program, gpu_model=gpu_model,
                      gpus=len(slots), starts_at=period[0], ends_at=period[1], slots=sorted(slots), status=status)


@dataclass(frozen=True)
class WaitlistEntry:
    """An application that fitted nowhere (P3) or was not selected in its round (P1/P2); it waits in rank order.

    `min_days`: the shortest part of its period it accepts (P3's 1-4-month windows); None means all of what is
    left of the period. `offer_id` is set while capacity is held for it.
    """

    application_id: UUID
    program: ProgramCode
    score: float
    gpus: int
    gpu_model: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_at: datetime
    planned_gpu_hours_per_month: int = 1
    call_id: UUID | None = None
    rank: int | None = None
    track: str = "general"
    institution: str = ""
    min_days: int | None = None
    offer_id: UUID | None = None


@dataclass(frozen=True)
class RoundCandidate:
    """A scored P1/P2 application waiting for its call's round to be selected."""

    application_id: UUID
    program: ProgramCode
    call_id: UUID | None
    score: float
    track: str
    institution: str
    gpus: int
    gpu_model: str
    starts_at: datetime
    ends_at: datetime
    planned_gpu_hours_per_month: int = 1
    # what its score was made of, kept for the what-if (None or empty when scored before evaluation published it)
    region_class: str | None = None
    sector: str | None = None
    bonuses: dict[str, float] = field(default_factory=dict, hash=False)
    rubric_means: dict[str, float] = field(default_factory=dict, hash=False)


def no_fit_reason(gpus: int, free_gpus: int, gpu_model: str, pool: ProgramCode,
                  period: tuple[datetime, datetime]) -> str:
    last_day = program_day(period[1] - timedelta(days=1))
    return (f"{gpus} {gpu_model} GPUs requested, {free_gpus} free in pool {pool} "
            f"for {program_day(period[0]).isoformat()}..{last_day.isoformat()}")
