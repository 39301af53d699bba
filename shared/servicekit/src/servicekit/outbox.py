"""The transactional outbox: events written with the state change, published later by the relay."""
from __future__ import annotations

from functools import cache

from sqlalchemy import Insert, Table, func
from sqlalchemy.ext.asyncio import AsyncConnection

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


@cache
def _inserts(table: Table) -> tuple[Insert, Insert]:
    """The event's row, and the same with the relay's wake-up; built once per table, so SQLAlchemy compiles each
    once per process."""
    return table.insert(), table.insert().returning(func.pg_notify(channel(table), ""))


class Outbox:
    """Adds event rows to the caller's transaction; nothing reaches Kafka until that transaction commits.

    The first row of a transaction also queues a NOTIFY, in its own INSERT (`RETURNING pg_notify(...)`), which
    PostgreSQL delivers at the commit (and drops at a rollback, a savepoint's included): the relay wakes at once
    instead of at its next poll, for no round trip of its own.
    """

    def __init__(self, session: AsyncConnection, table: Table, *, topic_prefix: str = "") -> None:
        self._session = session
        self._table = table
        self._prefix = topic_prefix
        self.added: list[Event] = []

    async def add(self, event: Event) -> None:
        plain, waking = _inserts(self._table)
        # parameters apart from the statement, so the statement is compiled once
        await self._session.execute(plain if self.added else waking, {
            "event_id": event.id, "topic": f"{self._prefix}{event.topic}", "key": event.subject,
            "type": event.type, "payload": event.model_dump(mode="json"), **outbox_trace_context(),
        })
        self.added.append(event)
