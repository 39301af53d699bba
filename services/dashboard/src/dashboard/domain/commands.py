"""The dashboard's one command: an event of the platform to keep."""
from __future__ import annotations

from dataclasses import dataclass

from dashboard.domain.model import EventRecord


@dataclass(frozen=True)
class RecordEvent:
    record: EventRecord
