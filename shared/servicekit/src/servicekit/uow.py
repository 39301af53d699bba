"""The unit of work: its port (what a service layer may rely on) and the SQL one, with its outbox and inbox.

A service layer types its handlers with a Protocol that extends `UnitOfWork` with its repositories' ports; the SQL
unit of work (a subclass per service that builds its repositories) meets it, and so does the in-memory fake of the
fast test tier.
"""
from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Protocol, Self
from uuid import UUID

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from contracts import Event
from servicekit.inbox import Inbox
from servicekit.outbox import Outbox, written
from servicekit.tables import MessagingTables


class EventSink(Protocol):
    async def add(self, event: Event) -> None: ...


class EventClaims(Protocol):
    async def claim(self, event_id: UUID, event_type: str = "") -> bool: ...
    async def claim_many(self, messages: Sequence[tuple[UUID, str]]) -> set[UUID]: ...


class UnitOfWork(Protocol):
    """One transaction: its effects and the events it publishes commit together or not at all."""

    @property
    def outbox(self) -> EventSink: ...
    @property
    def inbox(self) -> EventClaims: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...
    async def commit(self) -> None: ...


class SqlUnitOfWork:
    """Rolls back unless committed. Subclasses override `_start` to build repositories on `self.session`.

    `session` is the transaction's connection (a PostgreSQL session): the repositories run Core statements, and a
    connection runs them without the ORM session's bookkeeping, which cost about 90 µs a transaction for nothing
    here. `_begin` may instead join a transaction already open on another connection, as a savepoint."""

    session: AsyncConnection
    outbox: Outbox
    inbox: Inbox

    def __init__(self, engine: AsyncEngine, tables: MessagingTables, *,
                 consumer: str, topic_prefix: str = "") -> None:
        self._engine = engine
        self._tables = tables
        self._consumer = consumer
        self._topic_prefix = topic_prefix
        self._savepoint: AsyncTransaction | None = None
        self._last: tuple[Executable, dict[str, Any]] | None = None

    async def __aenter__(self) -> Self:
        self._last = None
        self.session = await self._begin()
        self.outbox = Outbox(topic_prefix=self._topic_prefix)
        self.inbox = Inbox(self.session, self._tables.inbox, self._consumer)
        self._start()
        return self

    async def _begin(self) -> AsyncConnection:
        """A pooled connection; its transaction begins with its first statement."""
        return await self._engine.connect()

    async def _join(self, outer: AsyncConnection) -> AsyncConnection:
        """For `_begin`: this unit of work as a savepoint of the transaction open on `outer` (which is not closed
        here): its commit releases the savepoint, leaving the outer transaction to commit or not."""
        self._savepoint = await outer.begin_nested()
        return outer

    def _start(self) -> None:
        """Build the service's repositories on self.session."""

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._savepoint is not None:
            if self._savepoint.is_active:
                await self._savepoint.rollback()
            self._savepoint = None
            return
        await self.session.close()  # back to the pool, rolled back unless committed

    async def write_last(self, statement: Executable, parameters: dict[str, Any]) -> None:
        """`statement` as this unit's last write: it runs at the commit, carrying the unit's events
        (`statement` has `outbox.carried(<this unit's outbox table>)` among its CTEs and takes their arrays besides
        `parameters`). Nothing of the unit may run after it (it would not see this write) but `outbox.add`: a
        repository calls it from the unit's last step. A second call runs the first at once, with the events added
        until then."""
        if self._last is not None:
            await self.session.execute(self._last[0], {**self._last[1], **self.outbox.taken()})
        self._last = (statement, parameters)

    async def _write_last(self) -> bool:
        """Run the unit's last statement: its last write carrying its events, or else its events' INSERT. When
        nothing ran in the unit before it and the unit is no savepoint, it runs alone, without BEGIN and COMMIT:
        PostgreSQL runs one statement atomically, its CTEs and all, so the state and its events still commit
        together, in one round trip instead of three. Whether it ran alone (committed by itself)."""
        if self._last is not None:
            (statement, parameters), self._last = self._last, None
            parameters = {**parameters, **self.outbox.taken()}
        elif self.outbox.waiting:
            statement, parameters = written(self._tables.outbox), self.outbox.taken()
        else:
            return False
        if self._savepoint is None and not self.session.in_transaction():
            # the pool puts the connection back to its own isolation level when it is returned
            alone = await self.session.execution_options(isolation_level="AUTOCOMMIT")
            await alone.execute(statement, parameters)
            return True
        await self.session.execute(statement, parameters)
        return False

    async def commit(self) -> None:
        """Once, at the end (as the bus does): statements after a joined unit's commit would run in the outer
        transaction, outside any savepoint."""
        if await self._write_last():
            return
        if self._savepoint is not None:
            await self._savepoint.commit()
        else:
            await self.session.commit()
