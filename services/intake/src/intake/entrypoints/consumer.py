"""Other services' events, translated into intake's commands: each outcome becomes the application's status, an
offer of freed capacity an open offer for the partner to answer."""
from __future__ import annotations

from contracts import (
    ApplicationInReview,
    ApplicationRejected,
    ApplicationScored,
    ApplicationWaitlisted,
    OfferExpired,
    OfferMade,
    ResourceAllocated,
    ResourceReclaimed,
)
from intake.domain.commands import ExpireOffer, RecordOffer, RecordOutcome
from intake.domain.model import Status
from intake.domain.offers import Offer
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


def offer_made(e: OfferMade) -> RecordOffer:
    return RecordOffer(e.application_id, Offer(id=e.offer_id, gpu_model=e.gpu_model, gpus=e.gpus,
                                               starts_at=e.starts_at, ends_at=e.ends_at, expires_at=e.expires_at,
                                               made_at=e.occurred_at))


def offer_expired(e: OfferExpired) -> ExpireOffer:
    return ExpireOffer(e.application_id, e.offer_id, e.occurred_at)


TRANSLATIONS: Translations = {
    ApplicationInReview: in_review,
    ApplicationScored: scored,
    ApplicationRejected: rejected,
    ApplicationWaitlisted: waitlisted,
    ResourceAllocated: allocated,
    ResourceReclaimed: reclaimed,
    OfferMade: offer_made,
    OfferExpired: offer_expired,
}
