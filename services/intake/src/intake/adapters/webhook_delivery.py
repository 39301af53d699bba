"""The worker job that POSTs due webhook deliveries: claimed with FOR UPDATE SKIP LOCKED under a lease, signed,
sent with a timeout to the address checked for it, then marked delivered or scheduled again with backoff
(docs/webhooks.md)."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from intake.adapters.egress import Resolver, checked_destination, resolve_host
from intake.adapters.orm import webhook, webhook_delivery
from intake.domain.webhooks import (
    STATUS_CHANGED,
    DeliveryState,
    DocumentNotice,
    Notice,
    RetryPolicy,
    StatusChange,
    signature,
)
from servicekit.clock import Clock, utcnow
from servicekit.liveness import PartStatus, current_part
from servicekit.retry import is_transient, sleep_or_stop

log = logging.getLogger(__name__)
USER_AGENT = "gpu-platform-webhooks/1"
ERROR_CHARS = 500
# a claimed delivery is left alone this long past the request timeout: if its worker died meanwhile, another
# worker sends it again (receivers deduplicate by webhook-id), so a crash delays a delivery, never loses it
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
        "cannot make the platform call into its own network. The cloud metadata address is refused either way."))
    allow_http: bool = Field(default=False, description=(
        "Accept plain http URLs too (tests, receivers on a private network); off, only https."))
    retention_days: int = Field(default=30, ge=1, description=(
        "Finished deliveries (delivered, failed, cancelled) leave the log this many days after the change."))
    purge_interval_s: float = Field(default=3600.0, gt=0, description="How often the log is purged.")

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

    change: Notice
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


def _notice(row: Any) -> Notice:
    if row.event == STATUS_CHANGED:
        return StatusChange(row.id, row.application_id, row.application_status, row.reason, row.occurred_at)
    return DocumentNotice(row.id, row.event, row.payload, row.occurred_at)


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
                .returning(d.c.id, d.c.event, d.c.application_id, d.c.application_status, d.c.reason,
                           d.c.payload, d.c.occurred_at, d.c.attempts, w.c.url, w.c.secret))
        async with self._engine.begin() as conn:
            rows = (await conn.execute(stmt)).all()
        return [Due(_notice(r), r.url, r.secret, r.attempts) for r in rows]

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


async def send(client: httpx.AsyncClient, due: Due, clock: Clock, settings: WebhookSettings,
               resolve: Resolver = resolve_host) -> Attempt:
    """One signed POST to the address just checked. The response body is never read: only its status counts."""
    target = await checked_destination(due.url, allow_private=settings.allow_private_networks,
                                       allow_http=settings.allow_http, resolve=resolve)
    if isinstance(target, list):
        return Attempt(clock(), error="refused: " + "; ".join(why for _, why in target))
    body = due.change.body()
    timestamp = int(clock().timestamp())
    try:
        headers = {**target.headers, "Content-Type": "application/json", "User-Agent": USER_AGENT,
                   "webhook-id": str(due.change.delivery_id), "webhook-timestamp": str(timestamp),
                   "webhook-signature": signature(due.secret, due.change.delivery_id, timestamp, body)}
    except ValueError:
        return Attempt(clock(), error="the webhook's stored secret is not a whsec_ base64 key")
    try:
        async with client.stream("POST", target.url, content=body, headers=headers,
                                 extensions=target.extensions) as response:
            return Attempt(clock(), status_code=response.status_code)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Attempt(clock(), error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def delivery_client(settings: WebhookSettings) -> httpx.AsyncClient:
    """The client deliveries are sent with; each connection serves one delivery, to the address checked for it."""
    # Redirects are not followed: a 3xx is a failed attempt, so a delivery never lands where nobody registered.
    # No keep-alive: a connection pooled by address could carry another host's delivery over a TLS session checked
    # for the first host's name. No proxy from the environment: a proxy would resolve the name again, unchecked.
    return httpx.AsyncClient(timeout=settings.timeout_s, follow_redirects=False, trust_env=False,
                             limits=httpx.Limits(max_keepalive_connections=0))


def deliver_webhooks(engine: AsyncEngine, settings: WebhookSettings, clock: Clock = utcnow,
                     resolve: Resolver = resolve_host) -> Callable[[asyncio.Event], Awaitable[None]]:
    """A worker job: send what is due, a batch at a time, until the worker stops."""
    queue = DeliveryQueue(engine, settings)

    async def send_one(client: httpx.AsyncClient, due: Due) -> Attempt:
        return await send(client, due, clock, settings, resolve)

    async def webhook_deliveries(stop: asyncio.Event) -> None:
        part = current_part()
        async with delivery_client(settings) as client:
            while not stop.is_set():
                sent = await _one_batch(queue, client, clock, send_one, part, settings.poll_interval_s)
                if sent < settings.batch_size:
                    await sleep_or_stop(stop, settings.poll_interval_s)

    return webhook_deliveries


async def _one_batch(queue: DeliveryQueue, client: httpx.AsyncClient, clock: Clock,
                     send_one: Callable[[httpx.AsyncClient, Due], Awaitable[Attempt]], part: PartStatus,
                     poll_s: float) -> int:
    try:
        claimed = await queue.claim(clock())
        attempts = await asyncio.gather(*(send_one(client, due) for due in claimed))
        for due, attempt in zip(claimed, attempts, strict=True):
            await queue.record(due, attempt)
    except Exception as exc:  # claimed rows come back when their lease ends; the worker's readiness tells
        part.failed(exc)
        if is_transient(exc):
            log.warning("delivering webhooks: %s; retrying", exc)
        else:
            log.exception("delivering webhooks failed; retrying")
        return 0
    part.turned(next_within_s=poll_s)
    return len(claimed)
