"""An application and its life cycle: submitted → scored/rejected → waitlisted → active → reclaimed/completed.

Outcomes arrive on different topics, so they may arrive out of order: a status only ever moves forward.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from intake.domain.errors import InvalidApplication, InvalidTransition

P1_MAX_GPUS = 16


class Status(StrEnum):
    SUBMITTED = "submitted"
    SCORED = "scored"
    REJECTED = "rejected"
    WAITLISTED = "waitlisted"
    ACTIVE = "active"
    RECLAIMED = "reclaimed"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


STAGE = {
    Status.SUBMITTED: 0, Status.SCORED: 1, Status.REJECTED: 9, Status.WAITLISTED: 2, Status.ACTIVE: 3,
    Status.RECLAIMED: 9, Status.COMPLETED: 9, Status.WITHDRAWN: 9,
}
TERMINAL = frozenset(s for s, stage in STAGE.items() if stage == 9)


@dataclass
class Applicant:
    name: str
    sector: str
    institution: str
    region: str


@dataclass
class Application:
    id: UUID
    partner_id: UUID
    program: str
    call_id: UUID | None
    applicant: Applicant
    gpus_requested: int
    gpu_model: str
    period_start: date
    period_end: date
    planned_gpu_hours_per_month: int
    purpose: str
    submitted_at: datetime
    status: Status = Status.SUBMITTED
    status_reason: str = ""
    updated_at: datetime | None = None
    history: list[tuple[Status, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.period_end <= self.period_start:
            raise InvalidApplication("period_end", "must be after period_start")
        if self.program == "P1" and self.gpus_requested > P1_MAX_GPUS:
            raise InvalidApplication("gpus_requested", f"P1 grants at most {P1_MAX_GPUS} GPUs")

    def advance(self, status: Status, reason: str, at: datetime) -> bool:
        """Move forward to `status`; a stale or repeated outcome changes nothing and returns False."""
        if self.status in TERMINAL or STAGE[status] <= STAGE[self.status]:
            return False
        self._set(status, reason, at)
        return True

    def withdraw(self, reason: str, at: datetime) -> None:
        if self.status in TERMINAL:
            raise InvalidTransition(f"an application that is {self.status} cannot be withdrawn")
        self._set(Status.WITHDRAWN, reason, at)

    def _set(self, status: Status, reason: str, at: datetime) -> None:
        self.status, self.status_reason, self.updated_at = status, reason, at
        self.history.append((status, reason))


def submit(application_id: UUID, partner_id: UUID, at: datetime, **fields: object) -> Application:
    """A new application, validated, with `submitted` as the first entry of its history."""
    app = Application(id=application_id, partner_id=partner_id, submitted_at=at, updated_at=at,
                      **fields)  # type: ignore[arg-type]
    app.history.append((Status.SUBMITTED, ""))
    return app
