"""The SQL unit of work: one session, its outbox and inbox; services add their repositories."""
from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from servicekit.inbox import Inbox
from servicekit.outbox import Outbox
from servicekit.tables import MessagingTables


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
