"""The transactional outbox: events written with the state change, published later by the relay."""
from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import CTE, Insert, Table, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
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


# an event's row: what `Outbox.add` inserts, and the arrays a statement carrying the events takes (`carried`)
COLUMNS = ("event_id", "topic", "key", "type", "payload", "traceparent", "tracestate")


@cache
def carried(table: Table) -> CTE:
    """The events of a unit of work as a data-modifying CTE (`WITH outbox_events AS (INSERT INTO <outbox> …)`) for
    its last write to carry: their rows come as one array a column (`:outbox_<column>`, from `Outbox.carried`), and
    each row's RETURNING wakes the relay (PostgreSQL delivers one NOTIFY a channel and payload at the commit).
    PostgreSQL runs a data-modifying CTE to completion whether or not the statement reads it."""
    arrays = [bindparam(f"outbox_{c}", type_=ARRAY(table.c[c].type)) for c in COLUMNS]
    rows = func.unnest(*arrays).table_valued(*COLUMNS).render_derived()
    return (table.insert().from_select(list(COLUMNS), select(*rows.c))
            .returning(func.pg_notify(channel(table), "")).cte("outbox_events"))


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

    Once the unit of work has a last write that carries its events (`SqlUnitOfWork.write_last`), rows wait
    (`deferring`) and ride on that statement (`carried`), in the order they were added: no round trip of their own.
    """

    def __init__(self, session: AsyncConnection, table: Table, *, topic_prefix: str = "") -> None:
        self._session = session
        self._table = table
        self._prefix = topic_prefix
        self.added: list[Event] = []
        self.deferring = False
        self._waiting: list[dict[str, Any]] = []

    async def add(self, event: Event) -> None:
        # parameters apart from the statement, so the statement is compiled once; the trace context is the one
        # current now, whenever the row is written
        row = {"event_id": event.id, "topic": f"{self._prefix}{event.topic}", "key": event.subject,
               "type": event.type, "payload": event.model_dump(mode="json"), **outbox_trace_context()}
        if self.deferring:
            self._waiting.append(row)
        else:
            plain, waking = _inserts(self._table)
            await self._session.execute(plain if self.added else waking, row)
        self.added.append(event)

    def carried(self) -> dict[str, list[Any]]:
        """The parameters of `carried(table)`: the rows waiting, one array a column, which are then taken."""
        rows, self._waiting = self._waiting, []
        return {f"outbox_{c}": [row[c] for row in rows] for c in COLUMNS}
