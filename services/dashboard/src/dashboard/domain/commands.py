"""The dashboard's commands: an event of the platform to keep, the dead letters read, and an operator's word
that one was re-driven."""
from __future__ import annotations

from dataclasses import dataclass

from dashboard.domain.dead_letters import DeadLetter
from dashboard.domain.model import EventRecord
from dashboard.domain.views import ViewUpdate


@dataclass(frozen=True)
class RecordEvent:
    record: EventRecord
    view: ViewUpdate | None = None  # what the event tells the views (balance, demand, occupancy, ladder, CSPs)


@dataclass(frozen=True)
class RecordEvents:
    """Several events read together, in the order read: kept in one transaction."""

    commands: tuple[RecordEvent, ...]


@dataclass(frozen=True)
class RecordDeadLetters:
    """Keep each of these parked records that is not kept yet (a record read again changes nothing)."""

    letters: tuple[DeadLetter, ...]


@dataclass(frozen=True)
class MarkRedriven:
    """The record parked at this place was sent back to its topic, by this operator."""

    topic: str
    partition: int
    offset: int
    by: str
