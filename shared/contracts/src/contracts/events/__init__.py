"""Every event the services exchange, by producer."""
from contracts.events.allocation import ApplicationWaitlisted, GpuSlot, ResourceAllocated, ResourceReclaimed
from contracts.events.billing import InvoiceIssued
from contracts.events.evaluation import ApplicationRejected, ApplicationScored
from contracts.events.intake import Applicant, ApplicationSubmitted, ApplicationWithdrawn
from contracts.events.telemetry import UsageRecorded, UtilizationDropped, UtilizationRecovered

__all__ = [
    "Applicant",
    "ApplicationRejected",
    "ApplicationScored",
    "ApplicationSubmitted",
    "ApplicationWaitlisted",
    "ApplicationWithdrawn",
    "GpuSlot",
    "InvoiceIssued",
    "ResourceAllocated",
    "ResourceReclaimed",
    "UsageRecorded",
    "UtilizationDropped",
    "UtilizationRecovered",
]
