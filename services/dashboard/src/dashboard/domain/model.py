"""What the dashboard keeps of the platform's events: each event as it came, and each application's stage.

The stages follow an application through the programs' funnel: submitted → scored → selected / waitlisted /
rejected → active → reclaimed / completed (withdrawn on the side); an active allocation whose period ran out is
completed. Events of one application come in order on
one topic, but not across topics, so a stage only moves forward: a late event of an earlier stage changes nothing.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any
from uuid import UUID


class Stage(IntEnum):
    """An application's place in the funnel; the order is the funnel's."""

    SUBMITTED = 1
    SCORED = 2
    WAITLISTED = 3
    REJECTED = 4
    SELECTED = 5
    ACTIVE = 6
    WITHDRAWN = 7
    RECLAIMED = 8
    COMPLETED = 9

    @property
    def label(self) -> str:
        return self.name.lower()


# an event type (without its version) → the stage it puts its application at
STAGE_OF: Mapping[str, Stage] = {
    "intake.application_submitted": Stage.SUBMITTED,
    "evaluation.application_scored": Stage.SCORED,
    "evaluation.application_rejected": Stage.REJECTED,
    "allocation.application_waitlisted": Stage.WAITLISTED,
    "allocation.offer_made": Stage.SELECTED,
    "allocation.resource_allocated": Stage.ACTIVE,
    "intake.application_withdrawn": Stage.WITHDRAWN,
}
# a reclaim for a withdrawal ends as withdrawn; any other as reclaimed. An allocation whose period ran out has no
# event: it counts as completed from its end on (ApplicationView.stage_at)
WITHDRAWN_REASONS = frozenset({"withdrawn"})


def unversioned(type_name: str) -> str:
    """`intake.application_submitted.v1` → `intake.application_submitted`."""
    head, _, last = type_name.rpartition(".")
    return head if last.startswith("v") and last[1:].isdigit() else type_name


@dataclass(frozen=True)
class EventRecord:
    """One event as the dashboard shows it: who it concerns (application, program, call, CSPs) and its body."""

    event_id: UUID
    type: str
    topic: str
    subject: str
    occurred_at: datetime
    payload: Mapping[str, Any]
    application_id: UUID | None = None
    program: str | None = None
    call_id: UUID | None = None
    csps: tuple[str, ...] = ()

    @property
    def stage(self) -> Stage | None:
        kind = unversioned(self.type)
        if kind == "allocation.resource_reclaimed":
            return Stage.WITHDRAWN if self.payload.get("reason") in WITHDRAWN_REASONS else Stage.RECLAIMED
        return STAGE_OF.get(kind)


@dataclass
class ApplicationView:
    """An application's place in the funnel, with what the events told of it."""

    application_id: UUID
    stage: Stage
    updated_at: datetime
    program: str | None = None
    call_id: UUID | None = None
    gpus: int = 0
    csps: tuple[str, ...] = field(default=())
    ends_at: datetime | None = None

    def stage_at(self, now: datetime) -> Stage:
        """Its stage at `now`: an active allocation whose period is over is completed."""
        if self.stage is Stage.ACTIVE and self.ends_at is not None and self.ends_at <= now:
            return Stage.COMPLETED
        return self.stage

    def follow(self, record: EventRecord) -> bool:
        """Take what the event tells; returns whether anything changed. A stage never moves back."""
        changed = False
        for name in ("program", "call_id"):
            if getattr(self, name) is None and getattr(record, name) is not None:
                setattr(self, name, getattr(record, name))
                changed = True
        gpus = record.payload.get("gpus") or record.payload.get("gpus_requested")
        if isinstance(gpus, int) and gpus != self.gpus and (record.stage is Stage.ACTIVE or not self.gpus):
            self.gpus, changed = gpus, True
        if record.csps and record.csps != self.csps:
            self.csps, changed = record.csps, True
        ends_at = record.payload.get("ends_at")
        if record.stage is Stage.ACTIVE and isinstance(ends_at, str):
            self.ends_at, changed = datetime.fromisoformat(ends_at), True
        stage = record.stage
        if stage is not None and stage > self.stage:
            self.stage, self.updated_at, changed = stage, record.occurred_at, True
        return changed


@dataclass(frozen=True)
class FunnelRow:
    """How many applications (and GPUs) of a program and call stand at a stage."""

    program: str | None
    call_id: UUID | None
    stage: Stage
    applications: int
    gpus: int
