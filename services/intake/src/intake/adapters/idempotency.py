"""`Idempotency-Key` on POST: a retried request gets the first response again instead of a second effect.

The same key and body replay the stored response (with `Idempotent-Replayed: true`); the same key with another
request is 422; a retry while the first is still running is 409. Keys are scoped per principal (the caller). The
stored response commits in the transaction of the request's effects, so a crash leaves both or neither
(docs/idempotency.md).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.routing import APIRoute
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

from servicekit.http import PROBLEM_RESPONSES, FieldError, problem
from servicekit.runtime import runtime_of
from servicekit.worker import Job, periodic

log = logging.getLogger(__name__)
HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
IN_FLIGHT, DONE = "in_flight", "done"
CRASH_EXIT_CODE = 86
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


def fingerprint(method: str, path: str, body: bytes) -> str:
    """The request as the key must see it again: method, path and query, and the body (JSON key order aside)."""
    try:
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        pass  # not JSON: the raw bytes are the body
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


@dataclass(frozen=True)
class Claim:
    """A key this request holds, since `claimed_at`."""

    principal: str
    key: str
    claimed_at: datetime


class IdempotencyStore:
    """The keys in their table. A claim and a give-back are short transactions of their own, so that a retry sees
    the key in flight at once; the answer is stored in the request's own transaction, with its effects."""

    def __init__(self, table: Table, settings: IdempotencySettings) -> None:
        self.table = table
        self.settings = settings

    async def claim(self, engine: AsyncEngine, principal: str, key: str, request_hash: str) -> Claim | Row[Any]:
        """The claim when this request now holds the key; otherwise the row of the request that holds it."""
        t, now = self.table, datetime.now(UTC)
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

    async def finish(self, transaction: AsyncConnection, claim: Claim, response: Response) -> bool:
        """Store the answer in the request's transaction; False if a retry took the key over meanwhile."""
        t = self.table
        finished = await transaction.execute(
            t.update().where(t.c.principal == claim.principal, t.c.key == claim.key, t.c.status == IN_FLIGHT,
                             t.c.created_at == claim.claimed_at)
            .values(status=DONE, response_status=response.status_code, response_body=bytes(response.body),
                    response_media_type=response.headers.get("content-type"))
            .returning(t.c.key))
        return finished.first() is not None

    async def release(self, engine: AsyncEngine, claim: Claim) -> None:
        """The request failed and its transaction rolled back: a retry with the key runs afresh."""
        t = self.table
        async with engine.begin() as conn:
            await conn.execute(t.delete().where(t.c.principal == claim.principal, t.c.key == claim.key,
                                                t.c.status == IN_FLIGHT, t.c.created_at == claim.claimed_at))

    async def purge(self, engine: AsyncEngine) -> None:
        cutoff = datetime.now(UTC) - timedelta(hours=self.settings.retention_hours)
        async with engine.begin() as conn:
            await conn.execute(self.table.delete().where(self.table.c.created_at < cutoff))


@dataclass
class _Held:
    """What a request holds: its claim, and the transaction its effects and its answer commit in."""

    engine: AsyncEngine
    claim: Claim | None = None
    transaction: AsyncConnection | None = None

    async def begin(self) -> AsyncConnection:
        """Begun when the key is claimed (the transaction holds the key's lock) or on first use."""
        if self.transaction is None:
            self.transaction = await self.engine.connect()
            await self.transaction.begin()
        return self.transaction


_held: ContextVar[_Held | None] = ContextVar("idempotency_held", default=None)


async def request_transaction() -> AsyncConnection | None:
    """The transaction of the keyed request being served, for its units of work to join; None elsewhere."""
    held = _held.get()
    return await held.begin() if held is not None and held.claim is not None else None


class _Answered(Exception):
    """The key already has an answer: a replay, or a refusal."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _answer(held: Row[Any], request_hash: str) -> Response:
    if held.request_hash != request_hash:
        return problem(422, "Idempotency key reused", f"{HEADER} was used for another request", [
            FieldError(field=HEADER, reason="was already used with another request (method, path or body)")])
    if held.status == IN_FLIGHT:
        return _in_flight()
    return Response(held.response_body, status_code=held.response_status, media_type=held.response_media_type,
                    headers={REPLAYED_HEADER: "true"})


def _in_flight() -> Response:
    return problem(409, "Request in flight", f"the first request with this {HEADER} has not finished", [
        FieldError(field=HEADER, reason="the first request with this key is still in flight; retry later")])


KeyHeader = Annotated[str | None, Header(alias=HEADER, min_length=1, max_length=255, description=(
    "Makes a retry safe: the same key and body replay the first response; another body is 422; a retry while "
    "the first is in flight is 409. Scoped per caller, kept for a day."))]
RESPONSES: dict[int | str, dict[str, Any]] = {409: PROBLEM_RESPONSES[409], 422: PROBLEM_RESPONSES[422]}


def idempotent_route(principal: Callable[..., Any]) -> type[APIRoute]:
    """A route class whose POST routes honour `Idempotency-Key`, scoped by the value of the `principal` dependency.

    One line per router: `APIRouter(route_class=idempotent_route(current_partner))`. The app needs
    `app.state.idempotency` (an IdempotencyStore) and a servicekit runtime for its engine; the units of work of a
    keyed request must join `request_transaction()`.
    """

    # a plain default, not Annotated: postponed annotations cannot see this closure's `principal`
    async def claim(request: Request, key: KeyHeader = None, who: Any = Depends(principal)) -> None:  # noqa: B008
        if key is None:
            return
        store: IdempotencyStore = request.app.state.idempotency
        request_hash = fingerprint(request.method, str(request.url.path) + "?" + request.url.query,
                                   await request.body())
        claimed = await store.claim(runtime_of(request.app).engine, str(who), key, request_hash)
        if not isinstance(claimed, Claim):
            raise _Answered(_answer(claimed, request_hash))
        held: _Held = request.state.idempotency_held
        held.claim = claimed
        await store.hold(await held.begin(), claimed)

    class IdempotentRoute(APIRoute):
        def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
            if "POST" in {m.upper() for m in kwargs.get("methods") or ()}:
                kwargs["dependencies"] = [*(kwargs.get("dependencies") or ()), Depends(claim)]
                kwargs["responses"] = {**RESPONSES, **(kwargs.get("responses") or {})}
            super().__init__(path, endpoint, **kwargs)

        def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
            return _remembering(super().get_route_handler())

    return IdempotentRoute


def _remembering(handle: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Run a request that holds a key in one transaction with its stored answer; give the key back if it failed."""

    async def handler(request: Request) -> Response:
        held = request.state.idempotency_held = _Held(runtime_of(request.app).engine)
        token = _held.set(held)
        try:
            response = await handle(request)
            return await _commit(request, held, response) if held.claim is not None else response
        except _Answered as answered:
            return answered.response
        except Exception:
            await _give_back(request, held)
            raise
        finally:
            _held.reset(token)
            if held.transaction is not None:
                await held.transaction.close()

    return handler


async def _commit(request: Request, held: _Held, response: Response) -> Response:
    """The effects and the answer commit together: a retry finds both or neither."""
    assert held.claim is not None
    store: IdempotencyStore = request.app.state.idempotency
    transaction = await held.begin()
    if not await store.finish(transaction, held.claim, response):
        # ran past the in-flight timeout and a retry took the key: that retry's effects are the ones that count
        await transaction.rollback()
        return _in_flight()
    await transaction.commit()
    if store.settings.test_crash_after_commit:
        os._exit(CRASH_EXIT_CODE)  # test-only fault injection: die between the commit and the answer
    return response


async def _give_back(request: Request, held: _Held) -> None:
    if held.claim is None:
        return
    if held.transaction is not None:
        # roll back first: a failed finish may still hold the key's row lock that the give-back needs
        await held.transaction.close()
    await request.app.state.idempotency.release(runtime_of(request.app).engine, held.claim)


def purge_expired_keys(engine: AsyncEngine, store: IdempotencyStore) -> Job:
    """A worker job: expired keys go, so the table holds about a day of requests."""

    async def purge() -> int:
        await store.purge(engine)
        return 0

    return periodic("purging idempotency keys", store.settings.purge_interval_s, purge)
