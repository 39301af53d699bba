"""The worker job that POSTs due webhook deliveries: claimed with FOR UPDATE SKIP LOCKED under a lease, signed,
sent with a timeout, then marked delivered or scheduled again with backoff (services/intake/docs/webhooks.md)."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from intake.adapters.egress import refused_destination
from intake.adapters.orm import webhook, webhook_delivery
from intake.domain.webhooks import DeliveryState, RetryPolicy, StatusChange, signature
from servicekit.retry import is_transient, sleep_or_stop

log = logging.getLogger(__name__)
USER_AGENT = "gpu-platform-webhooks/1"
ERROR_CHARS = 500
# a claimed delivery is left alone this long past the request timeout: if its worker died meanwhile, another
# worker sends it again (receivers deduplicate by Webhook-Id), so a crash delays a delivery, never loses it
LEASE_MARGIN_S = 30.0


class WebhookSettings(BaseModel):
    first_delay_s: float = Field(default=10.0, gt=0, description="Wait after the first failed attempt.")
    max_delay_s: float = Field(default=6 * 3600.0, gt=0, description="The backoff doubles up to this wait.")
    max_attempts: int = Field(default=16, ge=1, le=50, description=(
        "Attempts before a delivery is marked failed in the log (the defaults retry for about a day)."))
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="Per attempt: connect, send, first byte.")
    poll_interval_s: float = Field(default=1.0, gt=0, description="How often the worker looks for due deliveries.")
    batch_size: int = Field(default=20, ge=1, le=500, description="Deliveries claimed and sent at once.")
    max_per_partner: int = Field(default=10, ge=1, description="Active webhooks one partner may have.")
    allow_private_networks: bool = Field(default=False, description=(
        "Send to loopback, private and link-local addresses too (on-premises receivers, tests). Off, a partner "
        "cannot make the platform call into its own network."))

    @model_validator(mode="after")
    def _delays_in_order(self) -> WebhookSettings:
        if self.max_delay_s < self.first_delay_s:
            raise ValueError("max_delay_s must not be shorter than first_delay_s")
        return self

    def policy(self) -> RetryPolicy:
        return RetryPolicy(self.first_delay_s, self.max_delay_s, self.max_attempts)


@dataclass(frozen=True)
class Due:
    """A claimed delivery and where it goes."""

    change: StatusChange
    url: str
    secret: str
    attempts: int


@dataclass(frozen=True)
class Attempt:
    at: datetime
    status_code: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class DeliveryQueue:
    """The pending deliveries in their table; each call is its own short transaction, never held over HTTP."""

    def __init__(self, engine: AsyncEngine, settings: WebhookSettings) -> None:
        self._engine = engine
        self._settings = settings
        self._policy = settings.policy()

    async def claim(self, now: datetime) -> list[Due]:
        """Due deliveries, pushed a lease into the future so that no other worker takes them meanwhile."""
        d, w = webhook_delivery, webhook
        due = (select(d.c.id)
               .where(d.c.state == DeliveryState.PENDING.value, d.c.next_attempt_at <= now)
               .order_by(d.c.next_attempt_at).limit(self._settings.batch_size)
               .with_for_update(skip_locked=True))  # two workers never claim one row
        lease = timedelta(seconds=self._settings.timeout_s + LEASE_MARGIN_S)
        stmt = (update(d).where(d.c.id.in_(due), d.c.webhook_id == w.c.id).values(next_attempt_at=now + lease)
                .returning(d.c.id, d.c.application_id, d.c.application_status, d.c.reason, d.c.occurred_at,
                           d.c.attempts, w.c.url, w.c.secret))
        async with self._engine.begin() as conn:
            rows = (await conn.execute(stmt)).all()
        return [Due(StatusChange(r.id, r.application_id, r.application_status, r.reason, r.occurred_at),
                    r.url, r.secret, r.attempts) for r in rows]

    async def record(self, due: Due, attempt: Attempt) -> None:
        """Delivered on a 2xx; otherwise scheduled again with backoff, or failed after the last attempt."""
        attempts = due.attempts + 1
        if attempt.ok:
            state, next_at, delivered_at = DeliveryState.DELIVERED, None, attempt.at
        else:
            (state, next_at), delivered_at = self._policy.after_failure(attempts, attempt.at), None
        d = webhook_delivery
        stmt = (update(d).where(d.c.id == due.change.delivery_id, d.c.state == DeliveryState.PENDING.value)
                .values(attempts=attempts, state=state.value, next_attempt_at=next_at, delivered_at=delivered_at,
                        last_attempt_at=attempt.at, last_status_code=attempt.status_code,
                        last_error=attempt.error[:ERROR_CHARS] if attempt.error else None))
        async with self._engine.begin() as conn:
            await conn.execute(stmt)


async def send(client: httpx.AsyncClient, due: Due, clock: Callable[[], datetime], *,
               allow_private: bool = False) -> Attempt:
    """One signed POST. The response body is never read: only its status counts."""
    refused = await refused_destination(due.url, allow_private=allow_private)
    if refused is not None:
        return Attempt(clock(), error=f"refused: {refused}")
    body = due.change.body()
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               "Webhook-Id": str(due.change.delivery_id), "Webhook-Timestamp": str(timestamp),
               "Webhook-Signature": signature(due.secret, due.change.delivery_id, timestamp, body)}
    try:
        async with client.stream("POST", due.url, content=body, headers=headers) as response:
            return Attempt(clock(), status_code=response.status_code)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Attempt(clock(), error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def deliver_webhooks(engine: AsyncEngine, settings: WebhookSettings,
                     clock: Callable[[], datetime] = _utcnow) -> Callable[[asyncio.Event], Awaitable[None]]:
    """A worker job: send what is due, a batch at a time, until the worker stops."""
    queue = DeliveryQueue(engine, settings)

    async def run(stop: asyncio.Event) -> None:
        # redirects are not followed: a 3xx is a failed attempt, so a delivery never lands where nobody registered
        async with httpx.AsyncClient(timeout=settings.timeout_s, follow_redirects=False) as client:
            while not stop.is_set():
                sent = await _one_batch(queue, client, clock, settings.allow_private_networks)
                if sent < settings.batch_size:
                    await sleep_or_stop(stop, settings.poll_interval_s)

    return run


async def _one_batch(queue: DeliveryQueue, client: httpx.AsyncClient, clock: Callable[[], datetime],
                     allow_private: bool) -> int:
    try:
        claimed = await queue.claim(clock())
        attempts = await asyncio.gather(*(send(client, due, clock, allow_private=allow_private) for due in claimed))
        for due, attempt in zip(claimed, attempts, strict=True):
            await queue.record(due, attempt)
    except Exception as exc:
        if not is_transient(exc):
            raise
        log.warning("delivering webhooks: %s; retrying", exc)  # claimed rows come back when their lease ends
        return 0
    return len(claimed)
