"""The webhooks' stored state on the real database: the delivery log purged by the worker after its retention, and
the secrets of webhooks registered before Standard Webhooks keys, carried over by migration 0007."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from alembic import command
from standardwebhooks.webhooks import Webhook

from intake.adapters.webhook_delivery import WebhookSettings
from intake.domain.webhooks import secret_key
from servicekit.migrations import alembic_config, upgrade
from support.services import SERVICES
from support.stack import Stack, eventually

NOW = datetime.now(UTC)


async def a_webhook(stack: Stack, secret: str = "whsec_" + "A" * 44) -> uuid.UUID:
    hook_id = uuid.uuid4()
    await stack.fetch("INSERT INTO intake.webhook (id, partner_id, url, secret, created_at) "
                      "VALUES ($1, $2, $3, $4, $5)", hook_id, uuid.uuid4(), "https://93.184.215.14/hook", secret, NOW)
    return hook_id


async def a_delivery(stack: Stack, hook_id: uuid.UUID, state: str, days_old: float) -> uuid.UUID:
    """A delivery of a change `days_old` days ago; a pending one is not due for a day, so the worker leaves it."""
    created = NOW - timedelta(days=days_old)
    next_at = NOW + timedelta(days=1) if state == "pending" else None
    delivery_id = uuid.uuid4()
    await stack.fetch(
        "INSERT INTO intake.webhook_delivery (id, webhook_id, event, application_id, application_status, reason, "
        "occurred_at, state, next_attempt_at, created_at) VALUES ($1, $2, 'application.status_changed', $3, "
        "'submitted', '', $4, $5, $6, $4)", delivery_id, hook_id, uuid.uuid4(), created, state, next_at)
    return delivery_id


async def test_the_worker_purges_finished_deliveries_older_than_the_retention_and_keeps_the_rest(
        stack: Stack) -> None:
    hook_id = await a_webhook(stack)
    old = [await a_delivery(stack, hook_id, state, 3) for state in ("delivered", "failed", "cancelled")]
    kept = [await a_delivery(stack, hook_id, "pending", 3)]  # still owed to the partner, however old
    kept += [await a_delivery(stack, hook_id, state, 1.9) for state in ("delivered", "failed", "cancelled")]
    settings = WebhookSettings(retention_days=2, purge_interval_s=0.05)

    async def purged() -> bool:
        return await stack.count("intake.webhook_delivery") < len(old) + len(kept)

    async with stack.worker("intake", webhooks=settings):
        await eventually(purged, what="the purge")
        await asyncio.sleep(0.2)  # a few more rounds: they must leave the rest alone
    remaining = {r["id"] for r in await stack.fetch("SELECT id FROM intake.webhook_delivery")}
    assert remaining == set(kept)


async def test_a_secret_issued_before_standard_webhooks_keys_keeps_its_key_bytes_in_standard_base64(
        stack: Stack) -> None:
    migrations, url = SERVICES["intake"].migrations, stack.settings("intake").db.url
    await asyncio.to_thread(command.downgrade, alembic_config(migrations, url), "0006")
    old_secrets = ["whsec_" + secrets.token_urlsafe(32) for _ in range(20)]  # as intake issued them
    hooks = [await a_webhook(stack, secret) for secret in old_secrets]
    await asyncio.to_thread(upgrade, migrations, url)
    stored = {r["id"]: r["secret"] for r in await stack.fetch("SELECT id, secret FROM intake.webhook")}
    signed_at = datetime.fromtimestamp(1767225600, UTC)
    for hook_id, old in zip(hooks, old_secrets, strict=True):
        key = base64.urlsafe_b64decode(old.removeprefix("whsec_") + "=")
        assert secret_key(stored[hook_id]) == key
        digest = hmac.new(key, b"msg_1.1767225600.{}", hashlib.sha256).digest()  # what a partner's library makes of it
        assert Webhook(stored[hook_id]).sign("msg_1", signed_at, "{}") == "v1," + base64.b64encode(digest).decode()
