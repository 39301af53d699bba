"""An application and its life cycle: draft → submitted → in review → scored → selected / waitlisted / rejected →
active → completed / reclaimed / withdrawn; a waitlisted one may be offered freed capacity → accepted → active, or
→ declined (by the partner, or by letting the offer expire).

Only a draft's form may be edited. Outcomes arrive on different topics, so they may arrive out of order: a status
only ever moves forward.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from intake.domain.calls import Call, Program, call_problems
from intake.domain.errors import InvalidInput, InvalidTransition, OfferClosed
from intake.domain.forms import Form, Limits, form_problems, program_day
from intake.domain.offers import Offer, OfferState
from intake.domain.types import ProgramCode


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    SCORED = "scored"
    WAITLISTED = "waitlisted"
    SELECTED = "selected"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ACTIVE = "active"
    COMPLETED = "completed"
    RECLAIMED = "reclaimed"
    WITHDRAWN = "withdrawn"
    DECLINED = "declined"


# a waitlisted application may still be selected or offered freed capacity later, never the other way round
STAGE = {
    Status.DRAFT: 0, Status.SUBMITTED: 1, Status.IN_REVIEW: 2, Status.SCORED: 3, Status.WAITLISTED: 4,
    Status.SELECTED: 5, Status.OFFERED: 5, Status.ACCEPTED: 6, Status.ACTIVE: 7, Status.REJECTED: 9,
    Status.COMPLETED: 9, Status.RECLAIMED: 9, Status.WITHDRAWN: 9, Status.DECLINED: 9,
}
TERMINAL = frozenset(s for s, stage in STAGE.items() if stage == 9)


@dataclass
class Application:
    id: UUID
    partner_id: UUID
    form: Form
    gpus_requested: int
    created_at: datetime
    submitted_at: datetime | None = None
    status: Status = Status.DRAFT
    status_reason: str = ""
    updated_at: datetime | None = None
    history: list[tuple[Status, str]] = field(default_factory=list)
    offer: Offer | None = None  # the latest offer of freed capacity, if any

    @property
    def program(self) -> ProgramCode:
        return self.form.program

    @property
    def call_id(self) -> UUID | None:
        return self.form.call_id

    def edit(self, form: Form, *, program: Program, call: Call | None, at: datetime, limits: Limits,
             submit: bool) -> None:
        """A draft's form replaced whole, checked as a new application's is; submitted at once if asked. Once
        submitted, the form is what evaluation received, and stays as it was sent."""
        if self.status is not Status.DRAFT:
            raise InvalidTransition(f"application {self.id} is {self.status}, not a draft: only a draft can be "
                                    "edited (withdraw it and apply again to change what was sent)")
        _check(form, program=program, call=call, at=at, limits=limits, submit=submit)
        self.form, self.gpus_requested, self.updated_at = form, form.gpus(limits), at
        if submit:
            self.submit(at, program, call)

    def submit(self, at: datetime, program: Program, call: Call | None) -> None:
        """A draft goes to evaluation; a round's call must be open at `at`."""
        if self.status is not Status.DRAFT:
            raise InvalidTransition(f"an application that is {self.status} cannot be submitted")
        problems = call_problems(self.form, program, call, at)
        if problems:
            raise InvalidInput(*problems)
        self.submitted_at = at
        self._set(Status.SUBMITTED, "", at)

    def advance(self, status: Status, reason: str, at: datetime) -> bool:
        """Move forward to `status`; a stale or repeated outcome changes nothing and returns False."""
        if self.status in TERMINAL or self.status is Status.DRAFT or STAGE[status] <= STAGE[self.status]:
            return False
        self._set(status, reason, at)
        return True

    def receive_offer(self, offer: Offer, at: datetime) -> bool:
        """Allocation offers freed capacity; an application that has moved on (active, withdrawn, …) ignores it."""
        if not self.advance(Status.OFFERED, offer.describe(), at):
            return False
        self.offer = offer
        return True

    def accept_offer(self, at: datetime) -> Offer:
        offer = self._open_offer()
        offer.accept(at)
        self._set(Status.ACCEPTED, "offer accepted", at)
        return offer

    def decline_offer(self, reason: str, at: datetime) -> Offer:
        """The partner turns the offer down: the application leaves the waitlist for good."""
        offer = self._open_offer()
        offer.decline(reason, at)
        self._set(Status.DECLINED, f"offer declined: {reason}" if reason else "offer declined", at)
        return offer

    def expire_offer(self, offer_id: UUID, at: datetime) -> bool:
        """Allocation let the offer lapse (unanswered, or accepted too late to reach it in time); a declined offer,
        another offer, or an application already active changes nothing."""
        if self.offer is None or self.offer.id != offer_id or self.status is Status.ACTIVE or not self.offer.expire():
            return False
        self.advance(Status.DECLINED, "offer expired before the answer reached allocation"
                     if self.status is Status.ACCEPTED else "offer expired unanswered", at)
        return True

    def _open_offer(self) -> Offer:
        if self.offer is None:
            raise OfferClosed(f"application {self.id} has no offer")
        if self.status is not Status.OFFERED and self.offer.state is OfferState.OPEN:
            raise OfferClosed(f"application {self.id} is {self.status}: its offer can no longer be answered")
        return self.offer

    def withdraw(self, reason: str, at: datetime) -> None:
        if self.status in TERMINAL:
            raise InvalidTransition(f"an application that is {self.status} cannot be withdrawn")
        self._set(Status.WITHDRAWN, reason, at)

    def _set(self, status: Status, reason: str, at: datetime) -> None:
        self.status, self.status_reason, self.updated_at = status, reason, at
        self.history.append((status, reason))


def new_application(application_id: UUID, partner_id: UUID, form: Form, *, program: Program, call: Call | None,
                    at: datetime, limits: Limits, submit: bool) -> Application:
    """A validated application: submitted at once, or kept as a draft (its call's window is checked on submit)."""
    _check(form, program=program, call=call, at=at, limits=limits, submit=submit)
    app = Application(application_id, partner_id, form, form.gpus(limits), created_at=at)
    if submit:
        app.submit(at, program, call)
    else:
        app._set(Status.DRAFT, "", at)
    return app


def _check(form: Form, *, program: Program, call: Call | None, at: datetime, limits: Limits, submit: bool) -> None:
    """Every rule the form breaks, and its call's: the call's window only for a form submitted now."""
    problems = [*form_problems(form, program_day(at), limits),
                *call_problems(form, program, call, at if submit else None)]
    if problems:
        raise InvalidInput(*problems)
