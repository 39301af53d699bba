"""Partners' webhooks: where status changes and billing's documents are POSTed, how each delivery is signed, and when
a failed one is tried again. The signature is Standard Webhooks' (https://www.standardwebhooks.com/): `v1,` and the
base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", keyed with the bytes a `whsec_<base64>` secret encodes."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlsplit
from uuid import UUID

from intake.domain.errors import InvalidInput, Problem

STATUS_CHANGED: Final = "application.status_changed"
INVOICE_ISSUED: Final = "invoice.issued"  # billing issued the partner's monthly invoice for a payer
CREDIT_NOTE_ISSUED: Final = "credit_note.issued"  # billing credited back what was invoiced
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the scheme asks for 24 to 64 random bytes
SCHEMES = ("http", "https")


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed: kept in the log, never dropped silently
    CANCELLED = "cancelled"  # the webhook was removed before the delivery got through


@dataclass(frozen=True)
class Webhook:
    id: UUID
    partner_id: UUID
    url: str
    description: str
    secret: str
    created_at: datetime


def new_secret() -> str:
    """`whsec_` and the standard base64 of 32 random bytes: the prefix says what the string is when it turns up in a
    log, and Standard Webhooks libraries take the string as it is."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key a `whsec_` secret holds: the bytes its base64 encodes."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def url_problems(url: str, *, allow_http: bool = True) -> list[Problem]:
    """What is wrong with a webhook URL by its text alone (egress.py checks where it leads)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it validates it
    except ValueError as exc:
        return [("url", f"is not a URL: {exc}")]
    if parts.scheme.lower() not in SCHEMES:
        return [("url", f"must be an http or https URL, not {parts.scheme or 'one without a scheme'}")]
    if not parts.hostname:
        return [("url", "names no host")]
    if parts.scheme.lower() != "https" and not allow_http:
        return [("url", "must be an https URL: deliveries carry applications' details")]
    if parts.username is not None or parts.password is not None:
        return [("url", "must not carry credentials: the signature authenticates the sender")]
    return []


def new_webhook(webhook_id: UUID, partner_id: UUID, url: str, description: str, at: datetime) -> Webhook:
    problems = url_problems(url)
    if problems:
        raise InvalidInput(*problems)
    return Webhook(webhook_id, partner_id, url, description, new_secret(), at)


@dataclass(frozen=True)
class StatusChange:
    """One change of one application's status, as a partner's webhook is told about it."""

    delivery_id: UUID
    application_id: UUID
    status: str
    reason: str
    at: datetime

    def body(self) -> bytes:
        """The JSON body, the same bytes on every attempt."""
        return json.dumps({"delivery_id": str(self.delivery_id), "event": STATUS_CHANGED,
                           "application_id": str(self.application_id), "status": self.status,
                           "reason": self.reason, "at": self.at.isoformat()}, separators=(",", ":")).encode()


@dataclass(frozen=True)
class DocumentNotice:
    """A billing document issued for the partner's applications (an invoice, a credit note), as its webhooks are
    told about it: `document` is the summary billing published (id, number, payer, month, total, applications)."""

    delivery_id: UUID
    event: str
    document: Mapping[str, Any]
    at: datetime

    def body(self) -> bytes:
        """The JSON body, the same bytes on every attempt (keys in order)."""
        return json.dumps({"delivery_id": str(self.delivery_id), "event": self.event, **self.document,
                           "at": self.at.isoformat()}, separators=(",", ":"), sort_keys=True).encode()


Notice = StatusChange | DocumentNotice


def signature(secret: str, delivery_id: UUID, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", keyed with
    the secret's key bytes."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: first_delay, twice that, … up to max_delay, for at most max_attempts attempts."""

    first_delay_s: float
    max_delay_s: float
    max_attempts: int

    def delay_s(self, failed_attempts: int) -> float:
        """How long to wait after the n-th failed attempt (n ≥ 1)."""
        return float(min(self.first_delay_s * 2 ** (failed_attempts - 1), self.max_delay_s))

    def after_failure(self, failed_attempts: int, at: datetime) -> tuple[DeliveryState, datetime | None]:
        """The delivery's state and next attempt once its n-th attempt failed at `at`."""
        if failed_attempts >= self.max_attempts:
            return DeliveryState.FAILED, None
        return DeliveryState.PENDING, at + timedelta(seconds=self.delay_s(failed_attempts))
