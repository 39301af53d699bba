"""Every event the services exchange, by producer."""
from contracts.events.allocation import ApplicationWaitlisted, GpuSlot, ResourceAllocated, ResourceReclaimed
from contracts.events.billing import InvoiceIssued
from contracts.events.evaluation import ApplicationInReview, ApplicationRejected, ApplicationScored, RoundScored
from contracts.events.intake import (
    Applicant,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    CallClosed,
    Company,
    CorporateParticipant,
    Researcher,
)
from contracts.events.telemetry import UsageRecorded, UtilizationDropped, UtilizationRecovered

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
    "GpuSlot",
    "InvoiceIssued",
    "Researcher",
    "ResourceAllocated",
    "ResourceReclaimed",
    "RoundScored",
    "UsageRecorded",
    "UtilizationDropped",
    "UtilizationRecovered",
]
