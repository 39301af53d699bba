"""The webhooks' outbox: each status change of an application, and each billing document, becomes one pending
delivery per active webhook of its partner, written in the transaction of the change. The applications' repository
writes a change's deliveries in the very statement that stores the change; the webhooks' repository writes the
others."""
from __future__ import annotations

from sqlalchemy import Insert, Text, bindparam, func, literal, select, true
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from intake.adapters.orm import webhook, webhook_delivery
from intake.domain.webhooks import DeliveryState

ACTIVE = webhook.c.removed_at.is_(None)
COLUMNS = ["id", "webhook_id", "event", "application_id", "application_status", "reason", "payload", "occurred_at",
           "state", "next_attempt_at", "created_at"]


def pending_deliveries() -> Insert:
    """One statement: a pending delivery, due `:now`, of each notice to each active webhook of `:partner`, which
    it locks FOR SHARE (a removal waits for this transaction, then cancels these deliveries too). The notices are an
    event `:event` about `:application_id` or carrying `:payload`, that occurred at `:occurred_at`: one per element of
    the arrays `:statuses` and `:reasons`. Built once, so that SQLAlchemy compiles it once per process."""
    d = webhook_delivery
    notices = (func.unnest(bindparam("statuses", type_=ARRAY(Text)), bindparam("reasons", type_=ARRAY(Text)))
               .table_valued("status", "reason").render_derived())
    now = bindparam("now", type_=d.c.created_at.type)
    rows = (select(func.gen_random_uuid(), webhook.c.id, bindparam("event", type_=d.c.event.type),
                   bindparam("application_id", type_=d.c.application_id.type), notices.c.status, notices.c.reason,
                   bindparam("payload", type_=JSONB(none_as_null=True)),
                   bindparam("occurred_at", type_=d.c.occurred_at.type), literal(DeliveryState.PENDING.value),
                   now, now)
            .select_from(webhook).join(notices, true())
            .where(webhook.c.partner_id == bindparam("partner", type_=webhook.c.partner_id.type), ACTIVE)
            .with_for_update(read=True, of=webhook))
    return d.insert().from_select(COLUMNS, rows)
