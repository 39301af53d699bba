"""Intake's, evaluation's, allocation's and telemetry's events, translated into billing's commands.

Each command carries its event's id, type and time as the cause the ledger lines it posts will name.
"""
from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from billing.domain.commands import EndGrant, OpenGrant, RecordApplication, RecordUsage, RecordYouth
from billing.domain.ledger import Cause, Grant, Participant, Profile
from contracts import (
    ApplicationScored,
    ApplicationSubmitted,
    Event,
    ResourceAllocated,
    ResourceReclaimed,
    UsageRecorded,
)
from servicekit.worker import Translations


def _cause(e: Event) -> Cause:
    return Cause(e.id, e.type, e.occurred_at.astimezone(UTC))


def record_application(e: ApplicationSubmitted) -> RecordApplication:
    participants = tuple(Participant(name=p.name, size=p.size,
                                     business_registration_number=p.business_registration_number,
                                     project_share_bp=p.project_share_bp) for p in e.corporate_participants)
    registration = e.company.business_registration_number if e.company is not None else None
    return RecordApplication(Profile(
        application_id=e.application_id, partner_id=e.partner_id, program=e.program,
        organisation=e.applicant.institution, business_registration_number=registration,
        participants=participants, open_source_pledged=e.open_source), _cause(e))


def record_youth(e: ApplicationScored) -> RecordYouth:
    return RecordYouth(e.application_id, "youth_company" in e.facts, _cause(e))


def open_grant(e: ResourceAllocated) -> OpenGrant:
    per_csp: dict[str, int] = {}
    for slot in e.slots:
        per_csp[slot.csp] = per_csp.get(slot.csp, 0) + 1
    return OpenGrant(Grant(allocation_id=e.allocation_id, application_id=e.application_id, program=e.program,
                           gpu_model=e.gpu_model, gpus_by_csp=tuple(sorted(per_csp.items())),
                           starts_at=e.starts_at.astimezone(UTC), ends_at=e.ends_at.astimezone(UTC)), _cause(e))


def end_grant(e: ResourceReclaimed) -> EndGrant:
    return EndGrant(e.allocation_id, e.reclaimed_at.astimezone(UTC), _cause(e))


def record_usage(e: UsageRecorded) -> RecordUsage:
    # the event id is the entry id: a usage window re-sent under the same id is stored once
    return RecordUsage(entry_id=e.id, allocation_id=e.allocation_id, application_id=e.application_id,
                       window_start=e.window_start.astimezone(UTC), window_end=e.window_end.astimezone(UTC),
                       gpu_hours=Decimal(str(e.gpu_hours)), utilization_pct=e.utilization_pct,
                       recorded_at=e.occurred_at.astimezone(UTC))


TRANSLATIONS: Translations = {
    ApplicationSubmitted: record_application,
    ApplicationScored: record_youth,
    ResourceAllocated: open_grant,
    ResourceReclaimed: end_grant,
    UsageRecorded: record_usage,
}
