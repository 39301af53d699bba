"""Other services' events, translated into intake's commands: each outcome becomes the application's status, an
offer of freed capacity an open offer for the partner to answer, a usage warning, recovery or waived reclaim a
notice to the partner, and a CSP registered in the inventory one a CSP client may be linked to."""
from __future__ import annotations

from typing import Any

from contracts import (
    ApplicationInReview,
    ApplicationRejected,
    ApplicationScored,
    ApplicationWaitlisted,
    CreditNoteIssued,
    CspRegistered,
    InvoiceIssued,
    OfferExpired,
    OfferMade,
    ReclaimWaived,
    ResourceAllocated,
    ResourceReclaimed,
    UtilizationDropped,
    UtilizationRecovered,
)
from intake.domain.commands import ExpireOffer, NotifyDocument, NotifyUsage, RecordCsp, RecordOffer, RecordOutcome
from intake.domain.forms import program_time
from intake.domain.model import Status
from intake.domain.offers import Offer
from intake.domain.webhooks import CREDIT_NOTE_ISSUED, INVOICE_ISSUED
from servicekit.worker import Translations


def in_review(e: ApplicationInReview) -> RecordOutcome:
    return RecordOutcome(e.application_id, Status.IN_REVIEW, f"{e.reviewers} reviewers assigned", e.occurred_at)


def scored(e: ApplicationScored) -> RecordOutcome:
    return RecordOutcome(e.application_id, Status.SCORED, f"score {e.score:.2f}", e.occurred_at)


def rejected(e: ApplicationRejected) -> RecordOutcome:
    return RecordOutcome(e.application_id, Status.REJECTED, "; ".join(e.failed_rules), e.occurred_at)


def waitlisted(e: ApplicationWaitlisted) -> RecordOutcome:
    return RecordOutcome(e.application_id, Status.WAITLISTED, e.reason, e.occurred_at)


def allocated(e: ResourceAllocated) -> RecordOutcome:
    return RecordOutcome(e.application_id, Status.ACTIVE, f"{e.gpus} GPUs allocated", e.occurred_at)


def reclaimed(e: ResourceReclaimed) -> RecordOutcome:
    return RecordOutcome(e.application_id, Status.RECLAIMED, e.reason, e.occurred_at)


def reclaim_waived(e: ReclaimWaived) -> NotifyUsage:
    """An operator spared the GPUs: the partner hears of it the way it heard of the warning."""
    return NotifyUsage(e.application_id, "reclaim waived by an operator: the GPUs are not reclaimed for the "
                                         "utilization warnings so far; a new warning starts the reclaim ladder again",
                       e.waived_at)


def utilization_dropped(e: UtilizationDropped) -> NotifyUsage | None:
    """A warning reaches the partner; the reclaim itself comes as allocation's ResourceReclaimed (status reclaimed)."""
    if e.level != "warning":
        return None
    span = f"from {program_time(e.window_start)} to {program_time(e.window_end)}"
    if e.rule == "gpu_hours_below_plan" and e.actual_gpu_hours is not None and e.required_gpu_hours is not None:
        shortfall = (f"{e.actual_gpu_hours:.1f} GPU-hours used {span}, below the {e.required_gpu_hours:.1f} required "
                     f"of the {e.planned_gpu_hours or 0:.1f} planned")
    else:
        shortfall = f"{e.utilization_pct:.1f}% {span}, below the threshold of {e.threshold_pct:.1f}%"
    return NotifyUsage(e.application_id, f"utilization warning: {shortfall}; the GPUs are reclaimed after the grace "
                                         "period unless it recovers", e.occurred_at)


def utilization_recovered(e: UtilizationRecovered) -> NotifyUsage:
    span = f"from {program_time(e.window_start)} to {program_time(e.window_end)}"
    return NotifyUsage(e.application_id, f"utilization recovered: {e.utilization_pct:.1f}% {span}, at or above the "
                                         f"threshold of {e.threshold_pct:.1f}%; the warning is lifted", e.occurred_at)


def invoice_issued(e: InvoiceIssued) -> NotifyDocument:
    return NotifyDocument(e.partner_id, INVOICE_ISSUED, _document(e), e.issued_at)


def credit_note_issued(e: CreditNoteIssued) -> NotifyDocument:
    return NotifyDocument(e.partner_id, CREDIT_NOTE_ISSUED,
                          {**_document(e), "credits": list(e.credits), "reason": e.reason}, e.issued_at)


def _document(e: InvoiceIssued | CreditNoteIssued) -> dict[str, Any]:
    """What a partner's portal needs to fetch the document from billing and show it: JSON values only."""
    return {"document_id": str(e.document_id), "number": e.number, "payer_kind": e.payer_kind,
            "payer_name": e.payer_name, "month": e.month.isoformat(), "total_krw": e.total_krw,
            "application_ids": [str(a) for a in e.application_ids]}


def offer_made(e: OfferMade) -> RecordOffer:
    return RecordOffer(e.application_id, Offer(id=e.offer_id, gpu_model=e.gpu_model, gpus=e.gpus,
                                               starts_at=e.starts_at, ends_at=e.ends_at, expires_at=e.expires_at,
                                               made_at=e.occurred_at))


def offer_expired(e: OfferExpired) -> ExpireOffer:
    return ExpireOffer(e.application_id, e.offer_id, e.occurred_at)


def csp_registered(e: CspRegistered) -> RecordCsp:
    return RecordCsp(e.csp_id, e.name, e.occurred_at)


TRANSLATIONS: Translations = {
    ApplicationInReview: in_review,
    ApplicationScored: scored,
    ApplicationRejected: rejected,
    ApplicationWaitlisted: waitlisted,
    ResourceAllocated: allocated,
    ResourceReclaimed: reclaimed,
    ReclaimWaived: reclaim_waived,
    UtilizationDropped: utilization_dropped,
    UtilizationRecovered: utilization_recovered,
    OfferMade: offer_made,
    OfferExpired: offer_expired,
    InvoiceIssued: invoice_issued,
    CreditNoteIssued: credit_note_issued,
    CspRegistered: csp_registered,
}
