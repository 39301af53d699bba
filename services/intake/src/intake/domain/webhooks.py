"""Partners' webhooks: where status changes are POSTed, how each delivery is signed, and when a failed one is tried
again. The signature follows the Standard Webhooks scheme (id, timestamp, body), in hex with a `v1=` prefix."""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit
from uuid import UUID

from intake.domain.errors import InvalidInput, Problem

STATUS_CHANGED = "application.status_changed"
SECRET_PREFIX = "whsec_"
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
    """32 random bytes, URL-safe base64, behind a prefix that says what the string is when it turns up in a log."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def url_problems(url: str) -> list[Problem]:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it validates it
    except ValueError as exc:
        return [("url", f"is not a URL: {exc}")]
    if parts.scheme.lower() not in SCHEMES:
        return [("url", f"must be an http or https URL, not {parts.scheme or 'one without a scheme'}")]
    if not parts.hostname:
        return [("url", "names no host")]
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


def signature(secret: str, delivery_id: UUID, timestamp: int, body: bytes) -> str:
    """`v1=` and the hex HMAC-SHA256, keyed with the secret's UTF-8 bytes, of "{id}.{timestamp}.{body}"."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


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
