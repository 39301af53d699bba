"""The transactional outbox: events written with the state change, published later by the relay."""
from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Event


class Outbox:
    """Adds event rows to the caller's transaction; nothing reaches Kafka until that transaction commits."""

    def __init__(self, session: AsyncSession, table: Table, *, topic_prefix: str = "") -> None:
        self._session = session
        self._table = table
        self._prefix = topic_prefix
        self.added: list[Event] = []

    async def add(self, event: Event) -> None:
        # parameters apart from the statement, so SQLAlchemy compiles the INSERT once per process
        await self._session.execute(self._table.insert(), {
            "event_id": event.id, "topic": f"{self._prefix}{event.topic}", "key": event.subject,
            "type": event.type, "payload": event.model_dump(mode="json"),
        })
        self.added.append(event)
