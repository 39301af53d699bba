"""An offer of freed capacity to a waiting application, or of a round's award to a selected one, and its life cycle.

waitlist: awaiting_recheck (GPUs held, evaluation re-checks eligibility) -> open (the partner may answer until it
expires) -> accepted | declined | expired; ineligible when the re-check fails; withdrawn when the application is.
award: awaiting_recheck -> accepted at once when the re-check passes (the applicant applied and was selected).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from allocation.domain.errors import OfferClosed
from allocation.domain.model import ProgramCode


class OfferState(StrEnum):
    AWAITING_RECHECK = "awaiting_recheck"
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    INELIGIBLE = "ineligible"
    WITHDRAWN = "withdrawn"


class OfferKind(StrEnum):
    WAITLIST = "waitlist"  # freed capacity for the next in line: the partner accepts or declines
    AWARD = "award"  # a round's selection, re-checked at award time: taken up once confirmed


PENDING = frozenset({OfferState.AWAITING_RECHECK, OfferState.OPEN})


@dataclass
class Offer:
    id: UUID
    application_id: UUID
    allocation_id: UUID
    program: ProgramCode
    state: OfferState
    freed_at: datetime
    requested_at: datetime
    planned_gpu_hours_per_month: int
    made_at: datetime | None = None
    expires_at: datetime | None = None
    answered_at: datetime | None = None
    kind: OfferKind = OfferKind.WAITLIST

    @property
    def pending(self) -> bool:
        return self.state in PENDING

    @property
    def latency_s(self) -> float | None:
        """Seconds from the capacity freeing to the offer reaching the partner."""
        return (self.made_at - self.freed_at).total_seconds() if self.made_at else None

    def make(self, at: datetime, ttl: timedelta) -> None:
        """Eligibility confirmed: the offer goes out and runs until `at + ttl`."""
        self._require(OfferState.AWAITING_RECHECK)
        self.state, self.made_at, self.expires_at = OfferState.OPEN, at, at + ttl

    def award(self, at: datetime) -> None:
        """Eligibility confirmed at award: the selected application takes the held GPUs up at once."""
        if self.kind is not OfferKind.AWARD:
            raise OfferClosed(f"offer {self.id} is no award: the partner answers it")
        self._require(OfferState.AWAITING_RECHECK)
        self.state, self.made_at, self.answered_at = OfferState.ACCEPTED, at, at

    def accept(self, at: datetime) -> None:
        self._require(OfferState.OPEN)
        if self.expires_at is not None and at > self.expires_at:
            raise OfferClosed(f"offer {self.id} expired at {self.expires_at.isoformat()}")
        self.state, self.answered_at = OfferState.ACCEPTED, at

    def close(self, state: OfferState, at: datetime) -> None:
        """Declined, expired, ineligible or withdrawn: the held GPUs go back."""
        if not self.pending:
            raise OfferClosed(f"offer {self.id} is {self.state}")
        self.state, self.answered_at = state, at

    def _require(self, state: OfferState) -> None:
        if self.state is not state:
            raise OfferClosed(f"offer {self.id} is {self.state}, not {state}")
