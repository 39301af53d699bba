"""The `Idempotency-Key` store: each key, its request's fingerprint and, once done, the stored response; and the
transaction of the keyed request being served, which intake's units of work join so that the effects and the stored
response commit together (docs/idempotency.md). The HTTP side is entrypoints/idempotency.py."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    and_,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

IN_FLIGHT, DONE = "in_flight", "done"
CLAIM_GRACE_S = 2.0


class IdempotencySettings(BaseModel):
    in_flight_timeout_s: float = Field(default=60.0, gt=0, description=(
        "A first request still running after this long is taken to have died: a retry may run it again."))
    retention_hours: float = Field(default=24.0, gt=0, description="How long a key and its response are kept.")
    purge_interval_s: float = Field(default=300.0, gt=0, description="How often the worker purges expired keys.")
    test_crash_after_commit: bool = Field(default=False, description=(
        "TEST ONLY, never in a deployment: the API process exits at once (code 86) right after a keyed request's "
        "commit, before it answers, so that a test can show a retry still gets the committed answer."))


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_key", metadata,
        Column("principal", Text, primary_key=True),
        Column("key", Text, primary_key=True),
        Column("request_hash", Text, nullable=False),
        Column("status", Text, nullable=False),
        Column("response_status", Integer),
        Column("response_body", LargeBinary),
        Column("response_media_type", Text),
        # also the claim's token: a request finishes its key only if no retry has taken it over since
        Column("created_at", DateTime(timezone=True), nullable=False),
        Index("ix_idempotency_key_created_at", "created_at"),
    )


def _lock_id(principal: str, key: str) -> Any:
    """The advisory lock a request holds on its key (a 64-bit hash: a collision only makes a retry wait)."""
    return func.hashtextextended(literal(principal) + "\x1f" + literal(key), 0)


@dataclass(frozen=True)
class Claim:
    """A key this request holds, since `claimed_at`."""

    principal: str
    key: str
    claimed_at: datetime


@dataclass(frozen=True)
class Answer:
    """The response stored for a key, replayed to its retries."""

    status_code: int
    body: bytes
    media_type: str | None


class IdempotencyStore:
    """The keys in their table. A claim and a give-back are short transactions of their own, so that a retry sees
    the key in flight at once; the answer is stored in the request's own transaction, with its effects."""

    def __init__(self, table: Table, settings: IdempotencySettings) -> None:
        self.table = table
        self.settings = settings

    async def claim(self, engine: AsyncEngine, principal: str, key: str, request_hash: str,
                    now: datetime) -> Claim | Row[Any]:
        """The claim when this request now holds the key; otherwise the row of the request that holds it."""
        t = self.table
        expired = t.c.created_at < now - timedelta(hours=self.settings.retention_hours)
        # a holder that died let go of its lock with its connection: its key is taken over at once; a live one
        # keeps it until the in-flight timeout (the grace covers the instant between a claim and its lock)
        holder_gone = and_(t.c.created_at < now - timedelta(seconds=CLAIM_GRACE_S),
                           func.pg_try_advisory_xact_lock(_lock_id(principal, key)))
        abandoned = and_(t.c.status == IN_FLIGHT, t.c.request_hash == request_hash,
                         or_(t.c.created_at < now - timedelta(seconds=self.settings.in_flight_timeout_s),
                             holder_gone))
        fresh = {"request_hash": request_hash, "status": IN_FLIGHT, "created_at": now, "response_status": None,
                 "response_body": None, "response_media_type": None}
        stmt = (insert(t).values(principal=principal, key=key, **fresh)
                .on_conflict_do_update(index_elements=[t.c.principal, t.c.key], set_=fresh,
                                       where=or_(expired, abandoned))
                .returning(t.c.key))
        async with engine.begin() as conn:
            if (await conn.execute(stmt)).first() is not None:
                return Claim(principal, key, now)
            # the upsert locked the existing row, so it is still there to read
            return (await conn.execute(select(t).where(t.c.principal == principal, t.c.key == key))).one()

    async def hold(self, transaction: AsyncConnection, claim: Claim) -> None:
        """Lock the key for as long as the request's transaction lives: a retry then knows it is really in flight,
        and a crash (the connection gone) frees it at once. A request that took over a key whose first request
        still runs finds the lock held and goes on without it: its claim's token is what decides at the commit."""
        await transaction.execute(select(func.pg_try_advisory_xact_lock(_lock_id(claim.principal, claim.key))))

    async def finish(self, transaction: AsyncConnection, claim: Claim, answer: Answer) -> bool:
        """Store the answer in the request's transaction; False if a retry took the key over meanwhile."""
        t = self.table
        finished = await transaction.execute(
            t.update().where(t.c.principal == claim.principal, t.c.key == claim.key, t.c.status == IN_FLIGHT,
                             t.c.created_at == claim.claimed_at)
            .values(status=DONE, response_status=answer.status_code, response_body=answer.body,
                    response_media_type=answer.media_type)
            .returning(t.c.key))
        return finished.first() is not None

    async def release(self, engine: AsyncEngine, claim: Claim) -> None:
        """The request failed and its transaction rolled back: a retry with the key runs afresh."""
        t = self.table
        async with engine.begin() as conn:
            await conn.execute(t.delete().where(t.c.principal == claim.principal, t.c.key == claim.key,
                                                t.c.status == IN_FLIGHT, t.c.created_at == claim.claimed_at))

    async def purge(self, engine: AsyncEngine, now: datetime) -> int:
        """Expired keys go, so the table holds about a day of requests; the number purged."""
        cutoff = now - timedelta(hours=self.settings.retention_hours)
        async with engine.begin() as conn:
            return (await conn.execute(self.table.delete().where(self.table.c.created_at < cutoff))).rowcount


@dataclass
class RequestTransaction:
    """What a request being served holds: its key's claim once it has one, and the transaction its effects and its
    answer commit in."""

    engine: AsyncEngine
    claim: Claim | None = None
    transaction: AsyncConnection | None = None

    async def begin(self) -> AsyncConnection:
        """Begun when the key is claimed (the transaction holds the key's lock) or on first use."""
        if self.transaction is None:
            self.transaction = await self.engine.connect()
            await self.transaction.begin()
        return self.transaction


_serving: ContextVar[RequestTransaction | None] = ContextVar("idempotency_request", default=None)


@asynccontextmanager
async def serving(engine: AsyncEngine) -> AsyncIterator[RequestTransaction]:
    """The request being served, for its units of work to find; its transaction, if begun, is closed (rolled back
    unless committed) when the request is done."""
    held = RequestTransaction(engine)
    token = _serving.set(held)
    try:
        yield held
    finally:
        _serving.reset(token)
        if held.transaction is not None:
            await held.transaction.close()


async def request_transaction() -> AsyncConnection | None:
    """The transaction of the keyed request being served, for its units of work to join; None elsewhere."""
    held = _serving.get()
    return await held.begin() if held is not None and held.claim is not None else None
