"""Allocation's events, translated into telemetry's commands: which GPUs to watch for whom, and until when."""
from __future__ import annotations

from contracts import ResourceAllocated, ResourceReclaimed
from telemetry.domain.commands import EndAllocation, TrackAllocation
from telemetry.domain.model import Slot


def _track(e: ResourceAllocated) -> TrackAllocation:
    return TrackAllocation(
        allocation_id=e.allocation_id, application_id=e.application_id, program=e.program, gpus=e.gpus,
        starts_at=e.starts_at, ends_at=e.ends_at, planned_gpu_hours_per_month=e.planned_gpu_hours_per_month,
        slots=tuple(Slot(s.server_name, s.gpu_index, s.csp) for s in e.slots),
    )


TRANSLATIONS = {
    ResourceAllocated: _track,
    ResourceReclaimed: lambda e: EndAllocation(allocation_id=e.allocation_id, ended_at=e.reclaimed_at),
}
