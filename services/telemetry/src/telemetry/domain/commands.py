"""Telemetry's commands: what allocation's events tell it to track, and what a CSP reports."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from telemetry.domain.model import ProgramCode, Sample, Slot


@dataclass(frozen=True)
class TrackAllocation:
    allocation_id: UUID
    application_id: UUID
    program: ProgramCode
    gpus: int
    starts_at: datetime
    ends_at: datetime
    planned_gpu_hours_per_month: int
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class EndAllocation:
    allocation_id: UUID
    ended_at: datetime


@dataclass(frozen=True)
class WaiveReclaim:
    """An operator waived the allocation's reclaim: its ladder starts over, judging usage from `waived_at` on."""

    allocation_id: UUID
    waived_at: datetime


@dataclass(frozen=True)
class CloseHours:
    """Close the hours that can take no more samples at `now` and publish their usage; at most `limit` a run."""

    now: datetime
    limit: int = 5000


@dataclass(frozen=True)
class FlagSilentAllocations:
    """Alert on the allocations under way whose telemetry has gone quiet by `now`."""

    now: datetime


@dataclass(frozen=True)
class KeepPartitions:
    """Create the raw samples' partitions for the days ahead of `now`, drop those past the retention."""

    now: datetime
    retention_days: int
    days_ahead: int = 2


class OnRefused(StrEnum):
    """What a sample the batch may not hold does to the batch: one dated in the future, or on a server tracked as
    another CSP's."""

    REFUSE_BATCH = "refuse_batch"
    """Nothing is stored, and each such sample is named by its line (the NDJSON door: the CSP mends the batch)."""
    DROP_SAMPLES = "drop_samples"
    """Such samples are dropped and counted, the rest stored (remote-write: Prometheus drops a refused batch
    whole, so one mislabelled host must not lose every other's samples)."""


@dataclass(frozen=True)
class RecordSamples:
    """A CSP's batch, received at `received_at` (the clock's now): a sample dated more than the policy's clock skew
    after it, or on a server tracked as another CSP's, is refused as `on_refused` says.

    `line_numbers` are the samples' batch lines (by default their positions, from 1). With `by_hostname`, each
    sample's `server_name` is the CSP's name for the host, mapped to our server name by the CSP's host mapping
    first (a host not mapped is the server of the same name)."""

    samples: tuple[Sample, ...]
    csp_id: UUID  # the CSP's id, as its token names it
    received_at: datetime
    line_numbers: tuple[int, ...] = ()
    on_refused: OnRefused = OnRefused.REFUSE_BATCH
    by_hostname: bool = False
    uuids: Mapping[tuple[str, int], str] = field(default_factory=dict)
    """The GPU UUID each (host, GPU index) of the batch carried: a UUID registered in the inventory names the GPU
    in place of the host and index."""


@dataclass(frozen=True)
class MapHost:
    """The CSP's host `hostname` is the server `server_name`: its samples are stored under that name."""

    csp_id: UUID
    hostname: str
    server_name: str


@dataclass(frozen=True)
class UnmapHost:
    csp_id: UUID
    hostname: str
