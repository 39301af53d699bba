"""The registry from a versioned type name to its event class."""
from __future__ import annotations

from contracts import events
from contracts.base import Event

EVENT_CLASSES: tuple[type[Event], ...] = (
    events.ApplicationSubmitted,
    events.ApplicationWithdrawn,
    events.CallClosed,
    events.OfferAccepted,
    events.OfferDeclined,
    events.ApplicationInReview,
    events.ApplicationScored,
    events.ApplicationRejected,
    events.RoundScored,
    events.EligibilityConfirmed,
    events.CspRegistered,
    events.ResourceAllocated,
    events.ApplicationWaitlisted,
    events.ResourceReclaimed,
    events.ReclaimWaived,
    events.RoundSelected,
    events.EligibilityRecheckRequested,
    events.OfferMade,
    events.OfferExpired,
    events.UsageRecorded,
    events.UtilizationDropped,
    events.UtilizationRecovered,
    events.TelemetryStale,
    events.MarketPriceSet,
    events.OpenSourceReleaseRecorded,
    events.InvoiceIssued,
    events.CreditNoteIssued,
)

REGISTRY: dict[str, type[Event]] = {cls.type_name(): cls for cls in EVENT_CLASSES}
OUR_TYPE_PREFIXES = tuple(sorted({name.split(".", 1)[0] + "." for name in REGISTRY}))


def event_class(type_name: str) -> type[Event] | None:
    return REGISTRY.get(type_name)


def events_on(topic: str) -> list[type[Event]]:
    return [cls for cls in EVENT_CLASSES if cls.topic == topic]
