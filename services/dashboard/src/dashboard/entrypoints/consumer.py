"""Every event of the platform, on every topic, translated into the one command that keeps it."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from contracts import Event
from contracts.registry import EVENT_CLASSES
from dashboard.domain.commands import RecordEvent
from dashboard.domain.model import EventRecord
from servicekit.worker import Translations


def _csps(event: Event) -> tuple[str, ...]:
    slots: list[Any] = getattr(event, "slots", None) or []
    named = {getattr(slot, "csp", "") for slot in slots} | set(getattr(event, "csps", None) or ())
    return tuple(sorted(c for c in named if c))


def record(event: Event) -> RecordEvent:
    application_id = getattr(event, "application_id", None)
    call_id = getattr(event, "call_id", None)
    return RecordEvent(EventRecord(
        event_id=event.id, type=event.type, topic=event.topic, subject=event.subject,
        occurred_at=event.occurred_at, payload=event.model_dump(mode="json"),
        application_id=application_id if isinstance(application_id, UUID) else None,
        program=getattr(event, "program", None), call_id=call_id if isinstance(call_id, UUID) else None,
        csps=_csps(event)))


TRANSLATIONS: Translations = dict.fromkeys(EVENT_CLASSES, record)
