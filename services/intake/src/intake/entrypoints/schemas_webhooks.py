"""The webhooks API's request and response bodies: a webhook, its secret shown once, and its delivery log."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from intake.domain.model import Status
from intake.domain.webhooks import STATUS_CHANGED, DeliveryState
from intake.entrypoints.schemas import In
from servicekit.bounds import Line, Note


class WebhookIn(In):
    url: Line = Field(min_length=1, max_length=2000, description="An http or https URL; redirects are not followed.",
                     examples=["https://portal.example.kr/hooks/gpu"])
    description: Note = ""


class WebhookOut(BaseModel):
    id: UUID
    partner_id: UUID
    url: str
    description: str
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description=(
        "Signs every delivery (Webhook-Signature). Shown in this response only, and in its replay under the same "
        "Idempotency-Key."))


class DeliveryOut(BaseModel):
    """One notification to one webhook (an application's status change, or a billing document issued), and how its
    delivery went."""

    id: UUID = Field(description="The delivery id: the Webhook-Id header and `delivery_id` in the body.")
    event: Literal["application.status_changed", "invoice.issued", "credit_note.issued"] = STATUS_CHANGED
    application_id: UUID | None = Field(default=None, description="A status change's application.")
    application_status: Status | None = Field(default=None, description="A status change's new status.")
    reason: str
    payload: dict[str, Any] | None = Field(default=None, description="A document's summary, as its body carries it.")
    occurred_at: datetime
    state: DeliveryState = Field(description="pending (due at next_attempt_at), delivered, failed after the last "
                                             "attempt, or cancelled because the webhook was removed.")
    attempts: int
    last_status_code: int | None = Field(description="The receiver's HTTP status at the last attempt.")
    last_error: str | None = Field(description="Why the last attempt got no HTTP answer (refused, timed out, …).")
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
