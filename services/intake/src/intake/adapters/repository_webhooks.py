"""Webhooks and their delivery log in and out of the database. A status change becomes one pending delivery per
active webhook of the partner, written in the transaction of the change: the delivery table is the webhooks' outbox.
Finished deliveries are purged from the log after the retention period."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from intake.adapters.orm import webhook, webhook_delivery
from intake.adapters.repository import Cursor, keyset_page
from intake.adapters.webhook_outbox import ACTIVE, pending_deliveries
from intake.domain.webhooks import STATUS_CHANGED, DeliveryState, Webhook

PUBLIC = [c for c in webhook.c if c.name not in ("secret", "removed_at")]
PURGE_BATCH = 5000  # rows per purge transaction: a large backlog goes in short transactions
_DELIVER = pending_deliveries()


class WebhookRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add(self, hook: Webhook) -> None:
        await self._session.execute(webhook.insert().values(vars(hook)))

    async def count(self, partner_id: UUID) -> int:
        stmt = select(func.count()).where(webhook.c.partner_id == partner_id, ACTIVE)
        return int(await self._session.scalar(stmt) or 0)

    async def page(self, partner_id: UUID, *, after: Cursor | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The partner's active webhooks, newest first, without their secrets."""
        stmt = select(*PUBLIC).where(webhook.c.partner_id == partner_id, ACTIVE)
        stmt = keyset_page(stmt, webhook.c.created_at, webhook.c.id, after, limit)
        return [dict(r._mapping) for r in (await self._session.execute(stmt)).all()]

    async def exists(self, webhook_id: UUID, partner_id: UUID) -> bool:
        """Whether the partner has this active webhook; another partner's is as good as missing."""
        stmt = select(webhook.c.id).where(webhook.c.id == webhook_id, webhook.c.partner_id == partner_id, ACTIVE)
        return (await self._session.scalar(stmt)) is not None

    async def remove(self, webhook_id: UUID, partner_id: UUID, at: datetime) -> bool:
        """Deactivate the webhook and cancel what it still had to deliver; False if the partner has no such one."""
        removed = await self._session.scalar(
            webhook.update().where(webhook.c.id == webhook_id, webhook.c.partner_id == partner_id, ACTIVE)
            .values(removed_at=at).returning(webhook.c.id))
        if removed is None:
            return False
        d = webhook_delivery
        await self._session.execute(d.update().where(d.c.webhook_id == webhook_id,
                                                     d.c.state == DeliveryState.PENDING.value)
                                    .values(state=DeliveryState.CANCELLED.value, next_attempt_at=None))
        return True

    async def notify(self, partner_id: UUID, application_id: UUID, changes: Sequence[tuple[str, str]],
                     occurred_at: datetime, now: datetime) -> int:
        """One pending delivery per active webhook and change; the number of deliveries written."""
        if not changes:
            return 0
        return await self._deliver({
            "partner": partner_id, "event": STATUS_CHANGED, "application_id": application_id, "payload": None,
            "statuses": [status for status, _ in changes], "reasons": [reason for _, reason in changes],
            "occurred_at": occurred_at, "now": now})

    async def notify_document(self, partner_id: UUID, event: str, document: Mapping[str, Any], occurred_at: datetime,
                              now: datetime) -> int:
        """One pending delivery per active webhook of the partner for a billing document; the number written."""
        return await self._deliver({
            "partner": partner_id, "event": event, "application_id": None, "payload": dict(document),
            "statuses": [None], "reasons": [""], "occurred_at": occurred_at, "now": now})

    async def _deliver(self, params: Mapping[str, Any]) -> int:
        written = cast("CursorResult[Any]", await self._session.execute(_DELIVER, params))
        return written.rowcount

    async def deliveries(self, webhook_id: UUID, *, state: str | None = None, after: Cursor | None = None,
                         limit: int = 50) -> list[dict[str, Any]]:
        """The webhook's delivery log, newest first."""
        d = webhook_delivery
        stmt = select(d).where(d.c.webhook_id == webhook_id)
        if state is not None:
            stmt = stmt.where(d.c.state == state)
        stmt = keyset_page(stmt, d.c.created_at, d.c.id, after, limit)
        return [dict(r._mapping) for r in (await self._session.execute(stmt)).all()]


async def purge_delivery_log(engine: AsyncEngine, changed_before: datetime) -> int:
    """Finished deliveries of changes made before `changed_before` leave the log, in short transactions; the number
    purged. Pending ones stay whatever their age: they are the outbox of notifications still owed."""
    d = webhook_delivery
    old = (select(d.c.id).where(d.c.state != DeliveryState.PENDING.value, d.c.created_at < changed_before)
           .limit(PURGE_BATCH))
    purged, batch = 0, PURGE_BATCH
    while batch == PURGE_BATCH:
        async with engine.begin() as conn:
            batch = (await conn.execute(delete(d).where(d.c.id.in_(old)))).rowcount
        purged += batch
    return purged
