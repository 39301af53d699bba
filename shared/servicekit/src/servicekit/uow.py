"""The unit of work: its port (what a service layer may rely on) and the SQL one, with its outbox and inbox.

A service layer types its handlers with a Protocol that extends `UnitOfWork` with its repositories' ports; the SQL
unit of work (a subclass per service that builds its repositories) meets it, and so does the in-memory fake of the
fast test tier.
"""
from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts import Event
from servicekit.inbox import Inbox
from servicekit.outbox import Outbox
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
    """Rolls back unless committed. Subclasses override `_start` to build repositories on `self.session`."""

    session: AsyncSession
    outbox: Outbox
    inbox: Inbox

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], tables: MessagingTables, *,
                 consumer: str, topic_prefix: str = "") -> None:
        self._session_factory = session_factory
        self._tables = tables
        self._consumer = consumer
        self._topic_prefix = topic_prefix

    async def __aenter__(self) -> Self:
        self.session = self._session_factory()
        self.outbox = Outbox(self.session, self._tables.outbox, topic_prefix=self._topic_prefix)
        self.inbox = Inbox(self.session, self._tables.inbox, self._consumer)
        self._start()
        return self

    def _start(self) -> None:
        """Build the service's repositories on self.session."""

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()
