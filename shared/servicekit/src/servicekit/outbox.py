"""The transactional outbox: events written with the state change, published later by the relay."""
from __future__ import annotations

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Event
from servicekit.tracing import current_trace_context


def channel(table: Table) -> str:
    """The NOTIFY channel on which a commit that added rows to `table` wakes the relay."""
    return f"outbox_{table.schema or 'public'}"


def outbox_trace_context() -> dict[str, str | None]:
    """The outbox row's trace columns: the context of the current span (the request's, or the consumed event's
    handler's), so that the relay sends the event on in the same trace."""
    context = current_trace_context()
    return {"traceparent": context.get("traceparent"), "tracestate": context.get("tracestate")}


class Outbox:
    """Adds event rows to the caller's transaction; nothing reaches Kafka until that transaction commits.

    The first row of a transaction also queues a NOTIFY, which PostgreSQL delivers at the commit (and drops at a
    rollback): the relay wakes at once instead of at its next poll.
    """

    def __init__(self, session: AsyncSession, table: Table, *, topic_prefix: str = "") -> None:
        self._session = session
        self._table = table
        self._prefix = topic_prefix
        self.added: list[Event] = []

    async def add(self, event: Event) -> None:
        # parameters apart from the statement, so SQLAlchemy compiles the INSERT once per process
        await self._session.execute(self._table.insert(), {
            "event_id": event.id, "topic": f"{self._prefix}{event.topic}", "key": event.subject,
            "type": event.type, "payload": event.model_dump(mode="json"), **outbox_trace_context(),
        })
        if not self.added:
            await self._session.execute(select(func.pg_notify(channel(self._table), "")))
        self.added.append(event)
