"""The transactional outbox: events written with the state change, published later by the relay."""
from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import CTE, Insert, Table, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from contracts import Event
from contracts.cloudevents import envelope
from servicekit.tracing import current_trace_context


def channel(table: Table) -> str:
    """The NOTIFY channel on which a commit that added rows to `table` wakes the relay."""
    return f"outbox_{table.schema or 'public'}"


def outbox_trace_context() -> dict[str, str | None]:
    """The outbox row's trace columns: the context of the current span (the request's, or the consumed event's
    handler's), so that the relay sends the event on in the same trace."""
    context = current_trace_context()
    return {"traceparent": context.get("traceparent"), "tracestate": context.get("tracestate")}


# an event's row, as `Outbox.add` keeps it and as the arrays of `written` and `carried` take it
COLUMNS = ("event_id", "topic", "key", "type", "occurred_at", "payload", "traceparent", "tracestate")


def outbox_row(event: Event, topic_prefix: str = "") -> dict[str, Any]:
    """An event's outbox row, without its trace context: the envelope in columns (`event_id`, `type`,
    `occurred_at` as JSON writes it), the data in `payload` (a JSON column, which PostgreSQL keeps as the compact
    text written: the relay sends it as the record's body without parsing it or writing it again)."""
    payload = event.model_dump(mode="json")
    _, _, occurred_at = envelope(payload)
    return {"event_id": event.id, "topic": f"{topic_prefix}{event.topic}", "key": event.subject, "type": event.type,
            "occurred_at": occurred_at, "payload": payload}


@cache
def written(table: Table) -> Insert:
    """A unit of work's events into `table`, in one statement: their rows come as one array a column
    (`:outbox_<column>`, from `Outbox.taken`) and are numbered in the order they were added; each row's RETURNING
    wakes the relay (PostgreSQL delivers one NOTIFY a channel and payload, at the commit, none at a rollback). Built
    once per table, so SQLAlchemy compiles it once per process."""
    arrays = [bindparam(f"outbox_{c}", type_=ARRAY(table.c[c].type)) for c in COLUMNS]
    rows = func.unnest(*arrays).table_valued(*COLUMNS, with_ordinality="n").render_derived()
    return (table.insert().from_select(list(COLUMNS), select(*(rows.c[c] for c in COLUMNS)).order_by(rows.c.n))
            .returning(func.pg_notify(channel(table), "")))


@cache
def carried(table: Table) -> CTE:
    """`written` as a data-modifying CTE (`WITH outbox_events AS (INSERT INTO <outbox> …)`), for a unit's last
    write to carry its events (`SqlUnitOfWork.write_last`). PostgreSQL runs a data-modifying CTE to completion
    whether or not the statement reads it."""
    return written(table).cte("outbox_events")


class Outbox:
    """Keeps a unit of work's events until its commit, which writes them in its transaction in one statement
    (`written`), or has its last write carry them (`carried`): nothing reaches Kafka until that transaction commits,
    and the rows are numbered in the order the events were added. The statement also wakes the relay (`RETURNING
    pg_notify(...)`, delivered at the commit): at once, instead of at its next poll, for no round trip of its own.
    """

    def __init__(self, *, topic_prefix: str = "") -> None:
        self._prefix = topic_prefix
        self._waiting: list[dict[str, Any]] = []

    async def add(self, event: Event) -> None:
        # the trace context is the one current now (the request's, or the consumed event's handler's)
        self._waiting.append({**outbox_row(event, self._prefix), **outbox_trace_context()})

    def taken(self) -> dict[str, list[Any]]:
        """The parameters of `written` and `carried`: the rows waiting, one array a column, which are then taken."""
        rows, self._waiting = self._waiting, []
        return {f"outbox_{c}": [row[c] for row in rows] for c in COLUMNS}

    @property
    def waiting(self) -> bool:
        return bool(self._waiting)
