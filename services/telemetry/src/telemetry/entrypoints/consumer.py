"""Allocation's events, translated into telemetry's commands: which GPUs to watch for whom, until when, and when an
operator waived a reclaim."""
from __future__ import annotations

from contracts import ReclaimWaived, ResourceAllocated, ResourceReclaimed
from servicekit.worker import Translations
from telemetry.domain.commands import EndAllocation, TrackAllocation, WaiveReclaim
from telemetry.domain.model import Slot


def track_allocation(e: ResourceAllocated) -> TrackAllocation:
    return TrackAllocation(
        allocation_id=e.allocation_id, application_id=e.application_id, program=e.program, gpus=e.gpus,
        starts_at=e.starts_at, ends_at=e.ends_at, planned_gpu_hours_per_month=e.planned_gpu_hours_per_month,
        slots=tuple(Slot(s.server_name, s.gpu_index, s.csp, s.gpu_uuid, s.csp_id) for s in e.slots),
    )


def end_allocation(e: ResourceReclaimed) -> EndAllocation:
    return EndAllocation(allocation_id=e.allocation_id, ended_at=e.reclaimed_at)


def waive_reclaim(e: ReclaimWaived) -> WaiveReclaim:
    return WaiveReclaim(allocation_id=e.allocation_id, waived_at=e.waived_at)


TRANSLATIONS: Translations = {
    ResourceAllocated: track_allocation,
    ResourceReclaimed: end_allocation,
    ReclaimWaived: waive_reclaim,
}
