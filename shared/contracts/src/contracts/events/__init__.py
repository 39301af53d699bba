"""Every event the services exchange, by producer."""
from contracts.events.allocation import (
    ApplicationWaitlisted,
    EligibilityRecheckRequested,
    GpuSlot,
    OfferExpired,
    OfferMade,
    ReclaimWaived,
    ResourceAllocated,
    ResourceReclaimed,
    RoundSelected,
)
from contracts.events.billing import InvoiceIssued
from contracts.events.evaluation import (
    ApplicationInReview,
    ApplicationRejected,
    ApplicationScored,
    EligibilityConfirmed,
    RoundScored,
)
from contracts.events.intake import (
    Applicant,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    CallClosed,
    Company,
    CorporateParticipant,
    OfferAccepted,
    OfferDeclined,
    Researcher,
)
from contracts.events.telemetry import TelemetryStale, UsageRecorded, UtilizationDropped, UtilizationRecovered

__all__ = [
    "Applicant",
    "ApplicationInReview",
    "ApplicationRejected",
    "ApplicationScored",
    "ApplicationSubmitted",
    "ApplicationWaitlisted",
    "ApplicationWithdrawn",
    "CallClosed",
    "Company",
    "CorporateParticipant",
    "EligibilityConfirmed",
    "EligibilityRecheckRequested",
    "GpuSlot",
    "InvoiceIssued",
    "OfferAccepted",
    "OfferDeclined",
    "OfferExpired",
    "OfferMade",
    "ReclaimWaived",
    "Researcher",
    "ResourceAllocated",
    "ResourceReclaimed",
    "RoundScored",
    "RoundSelected",
    "TelemetryStale",
    "UsageRecorded",
    "UtilizationDropped",
    "UtilizationRecovered",
]
