"""An offer of freed capacity to a waitlisted application: allocation makes it, the partner answers it before it
expires, or allocation lets it expire. An offer is answered once."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from intake.domain.errors import OfferClosed
from intake.domain.forms import program_time


class OfferState(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"


@dataclass
class Offer:
    id: UUID
    gpu_model: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    expires_at: datetime
    made_at: datetime
    state: OfferState = OfferState.OPEN
    answered_at: datetime | None = None
    decline_reason: str = ""

    def describe(self) -> str:
        """What the partner is offered, for the status history and the webhook."""
        return (f"offered {self.gpus} {self.gpu_model} GPUs from {program_time(self.starts_at)} to "
                f"{program_time(self.ends_at)}; answer by {program_time(self.expires_at)}")

    def accept(self, at: datetime) -> None:
        self._answer(OfferState.ACCEPTED, at)

    def decline(self, reason: str, at: datetime) -> None:
        self._answer(OfferState.DECLINED, at)
        self.decline_reason = reason

    def expire(self) -> bool:
        """Allocation let it lapse. Allocation decides: an acceptance that reached it after it closed the offer
        lapses too (True); a declined or already expired offer stays as it is (False)."""
        if self.state not in (OfferState.OPEN, OfferState.ACCEPTED):
            return False
        self.state = OfferState.EXPIRED
        return True

    def _answer(self, state: OfferState, at: datetime) -> None:
        if self.state is OfferState.EXPIRED or (self.state is OfferState.OPEN and at > self.expires_at):
            raise OfferClosed(f"offer {self.id} expired at {program_time(self.expires_at)} unanswered")
        if self.state is not OfferState.OPEN:
            raise OfferClosed(f"offer {self.id} was {self.state.value} already")
        self.state, self.answered_at = state, at
