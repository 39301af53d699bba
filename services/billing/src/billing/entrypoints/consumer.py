"""Allocation's and telemetry's events, translated into billing's commands: accounts open, close and record usage."""
from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from billing.domain.commands import CloseAccount, OpenAccount, RecordUsage
from contracts import ResourceAllocated, ResourceReclaimed, UsageRecorded
from servicekit.worker import Translations


def open_account(e: ResourceAllocated) -> OpenAccount:
    return OpenAccount(allocation_id=e.allocation_id, application_id=e.application_id, program=e.program,
                       gpu_model=e.gpu_model, gpus=e.gpus, starts_at=e.starts_at.astimezone(UTC),
                       ends_at=e.ends_at.astimezone(UTC))


def close_account(e: ResourceReclaimed) -> CloseAccount:
    return CloseAccount(allocation_id=e.allocation_id, closed_at=e.reclaimed_at.astimezone(UTC))


def record_usage(e: UsageRecorded) -> RecordUsage:
    # the event id is the entry id: a usage window re-sent under the same id is stored once
    return RecordUsage(entry_id=e.id, allocation_id=e.allocation_id, application_id=e.application_id,
                       window_start=e.window_start.astimezone(UTC), window_end=e.window_end.astimezone(UTC),
                       gpu_hours=Decimal(str(e.gpu_hours)), utilization_pct=e.utilization_pct,
                       recorded_at=e.occurred_at.astimezone(UTC))


TRANSLATIONS: Translations = {
    ResourceAllocated: open_account,
    ResourceReclaimed: close_account,
    UsageRecorded: record_usage,
}
