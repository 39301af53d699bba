"""Every event of the platform, on every topic, translated into the command that keeps it; the events the views
are made of carry what they tell them (dashboard.domain.views), typed here from the contracts."""
from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

from contracts import (
    ApplicationScored,
    ApplicationSubmitted,
    Event,
    OfferMade,
    ReclaimWaived,
    ResourceAllocated,
    ResourceReclaimed,
    RoundSelected,
    TelemetryStale,
    UtilizationDropped,
    UtilizationRecovered,
)
from contracts.events.common import CAPITAL_REGION
from contracts.registry import EVENT_CLASSES
from dashboard.domain.commands import RecordEvent, RecordEvents
from dashboard.domain.model import EventRecord
from dashboard.domain.views import (
    UNKNOWN,
    Grant,
    LadderStep,
    Profile,
    Reclaim,
    RoundResult,
    StaleAlert,
    ViewUpdate,
)
from servicekit.worker import Translations


def _csps(event: Event) -> tuple[str, ...]:
    slots: list[Any] = getattr(event, "slots", None) or []
    named = {getattr(slot, "csp", "") for slot in slots} | set(getattr(event, "csps", None) or ())
    own = getattr(event, "csp", None)  # a market price's CSP
    if isinstance(own, str):
        named.add(own)
    return tuple(sorted(c for c in named if c))


def record(event: Event, view: ViewUpdate | None = None) -> RecordEvent:
    application_id = getattr(event, "application_id", None)
    call_id = getattr(event, "call_id", None)
    return RecordEvent(EventRecord(
        event_id=event.id, type=event.type, topic=event.topic, subject=event.subject,
        occurred_at=event.occurred_at, payload=event.model_dump(mode="json"),
        application_id=application_id if isinstance(application_id, UUID) else None,
        program=getattr(event, "program", None), call_id=call_id if isinstance(call_id, UUID) else None,
        csps=_csps(event)), view)


# --- what an event tells the views besides (dashboard.domain.views) ---------------------------------------------

def in_capital(region: str | None) -> bool | None:
    """The contracts' capital region (Seoul, Incheon, Gyeonggi) is the programs' reading of it; None if untold."""
    return region in CAPITAL_REGION if region else None


def on_submitted(e: ApplicationSubmitted) -> RecordEvent:
    """P1 is judged by the company's head office (as evaluation does), the others by the applicant's region."""
    region = e.company.head_office_region if e.program == "P1" and e.company else e.applicant.region
    return record(e, Profile(
        application_id=e.application_id, program=e.program, call_id=e.call_id, institution=e.applicant.institution,
        sector=e.applicant.sector, company_size=e.company.size if e.company else None, capital=in_capital(region),
        gpu_model=e.gpu_model, gpus_requested=e.gpus_requested, period_start=e.period_start,
        period_end=e.period_end, submitted_at=e.occurred_at))


def on_scored(e: ApplicationScored) -> RecordEvent:
    return record(e, Profile(
        application_id=e.application_id, program=e.program, call_id=e.call_id, institution=e.institution,
        capital=in_capital(e.region), gpu_model=e.gpu_model, gpus_requested=e.gpus_requested,
        period_start=e.period_start, period_end=e.period_end, scored_at=e.occurred_at, track=e.track,
        facts=tuple(e.facts)))


def on_offer_made(e: OfferMade) -> RecordEvent:
    return record(e, Profile(application_id=e.application_id, program=e.program, offered_at=e.occurred_at))


def on_allocated(e: ResourceAllocated) -> RecordEvent:
    hosted = Counter(slot.csp or UNKNOWN for slot in e.slots)
    return record(e, Grant(allocation_id=e.allocation_id, application_id=e.application_id, program=e.program,
                           gpu_model=e.gpu_model, gpus=e.gpus, starts_at=e.starts_at, ends_at=e.ends_at,
                           csp_gpus=tuple(sorted(hosted.items()))))


def on_reclaimed(e: ResourceReclaimed) -> RecordEvent:
    return record(e, Reclaim(allocation_id=e.allocation_id, application_id=e.application_id, reason=e.reason,
                             reclaimed_at=e.reclaimed_at))


def on_round_selected(e: RoundSelected) -> RecordEvent:
    return record(e, RoundResult(call_id=e.call_id, program=e.program, selected=e.selected, waitlisted=e.waitlisted,
                                 gpus_awarded=e.gpus_awarded, reserve_gpus=e.reserve_gpus,
                                 reserve_gpus_used=e.reserve_gpus_used, selected_at=e.occurred_at))


def on_utilization_dropped(e: UtilizationDropped) -> RecordEvent:
    return record(e, LadderStep(
        event_id=e.id, allocation_id=e.allocation_id, application_id=e.application_id, kind=e.level,
        at=e.occurred_at, rule=e.rule, utilization_pct=e.utilization_pct, threshold_pct=e.threshold_pct,
        actual_gpu_hours=e.actual_gpu_hours, planned_gpu_hours=e.planned_gpu_hours,
        required_gpu_hours=e.required_gpu_hours))


def on_utilization_recovered(e: UtilizationRecovered) -> RecordEvent:
    return record(e, LadderStep(event_id=e.id, allocation_id=e.allocation_id, application_id=e.application_id,
                                kind="recovered", at=e.occurred_at, utilization_pct=e.utilization_pct,
                                threshold_pct=e.threshold_pct))


def on_reclaim_waived(e: ReclaimWaived) -> RecordEvent:
    return record(e, LadderStep(event_id=e.id, allocation_id=e.allocation_id, application_id=e.application_id,
                                kind="waived", at=e.waived_at))


def on_telemetry_stale(e: TelemetryStale) -> RecordEvent:
    return record(e, StaleAlert(allocation_id=e.allocation_id, application_id=e.application_id,
                                csps=tuple(sorted(set(e.csps))), reason=e.reason, last_sample_at=e.last_sample_at,
                                coverage=e.coverage, detected_at=e.detected_at))


def together(commands: list[object]) -> RecordEvents:
    """The commands of the events read together, as one (each translation gives a RecordEvent)."""
    return RecordEvents(tuple(c for c in commands if isinstance(c, RecordEvent)))


TRANSLATIONS: Translations = {
    **dict.fromkeys(EVENT_CLASSES, record),
    ApplicationSubmitted: on_submitted,
    ApplicationScored: on_scored,
    OfferMade: on_offer_made,
    ResourceAllocated: on_allocated,
    ResourceReclaimed: on_reclaimed,
    RoundSelected: on_round_selected,
    UtilizationDropped: on_utilization_dropped,
    UtilizationRecovered: on_utilization_recovered,
    ReclaimWaived: on_reclaim_waived,
    TelemetryStale: on_telemetry_stale,
}
