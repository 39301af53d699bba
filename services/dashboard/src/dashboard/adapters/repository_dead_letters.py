"""The platform's dead letters in and out of the database: kept once each (by their place on their dead-letter topic),
paged newest parked first, marked re-driven."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from dashboard.adapters.orm import dead_letter
from dashboard.domain.dead_letters import DeadLetter

# the domain's names of a dead letter's place → the table's
_PLACE = {"topic": "dlq_topic", "partition": "dlq_partition", "offset": "dlq_offset"}


@dataclass(frozen=True)
class DeadLetterFilter:
    """What an operator narrows the dead letters to; None is any."""

    topic: str | None = None  # the dead-letter topic, or the topic the record was parked from
    consumer: str | None = None
    redriven: bool | None = None

    def where(self) -> list[Any]:
        c = dead_letter.c
        found = [or_(c.dlq_topic == self.topic, c.source_topic == self.topic) if self.topic else None,
                 c.consumer == self.consumer if self.consumer else None,
                 None if self.redriven is None else
                 c.redriven_at.is_not(None) if self.redriven else c.redriven_at.is_(None)]
        return [f for f in found if f is not None]


def _row(letter: DeadLetter) -> dict[str, Any]:
    return {_PLACE.get(name, name): value for name, value in asdict(letter).items()}


def _at(topic: str, partition: int, offset: int) -> Any:
    c = dead_letter.c
    return and_(c.dlq_topic == topic, c.dlq_partition == partition, c.dlq_offset == offset)


class DeadLetterRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add(self, letters: Sequence[DeadLetter]) -> int:
        if not letters:
            return 0
        stmt = (insert(dead_letter).values([_row(letter) for letter in letters])
                .on_conflict_do_nothing(index_elements=[dead_letter.c.dlq_topic, dead_letter.c.dlq_partition,
                                                        dead_letter.c.dlq_offset])
                .returning(dead_letter.c.seq))
        return len((await self._session.execute(stmt)).all())

    async def mark_redriven(self, topic: str, partition: int, offset: int, *, at: datetime, by: str) -> bool:
        stmt = (update(dead_letter).where(_at(topic, partition, offset))
                .values(redriven_at=at, redriven_by=by).returning(dead_letter.c.seq))
        return (await self._session.execute(stmt)).first() is not None

    async def get(self, topic: str, partition: int, offset: int) -> dict[str, Any] | None:
        row = (await self._session.execute(select(dead_letter).where(_at(topic, partition, offset)))).first()
        return dict(row._mapping) if row else None

    async def page(self, where: DeadLetterFilter, *, before: int | None, limit: int) -> list[dict[str, Any]]:
        """Dead letters matching `where`, newest parked first (then latest read); `before` is the `seq` of the last
        one of the previous page."""
        c = dead_letter.c
        stmt = select(dead_letter).where(*where.where())
        if before is not None:
            anchor = select(c.parked_at).where(c.seq == before).scalar_subquery()
            stmt = stmt.where(or_(c.parked_at < anchor, and_(c.parked_at == anchor, c.seq < before)))
        stmt = stmt.order_by(c.parked_at.desc(), c.seq.desc()).limit(limit)
        return [dict(row._mapping) for row in await self._session.execute(stmt)]
