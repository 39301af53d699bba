"""`Idempotency-Key` on POST and PUT: a retried request gets the first response again instead of a second effect.

The same key and body replay the stored response (with `Idempotent-Replayed: true`); the same key with another
request is 422; a retry while the first is still running is 409. Keys are scoped per principal (the caller). The
stored response commits in the transaction of the request's effects, so a crash leaves both or neither
(docs/idempotency.md). The keys' table is adapters/idempotency.py.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.engine import Row

from intake.adapters.idempotency import IN_FLIGHT, Answer, Claim, IdempotencyStore, RequestTransaction, serving
from servicekit.http import PROBLEM_RESPONSES, FieldError, problem
from servicekit.runtime import runtime_of

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
CRASH_EXIT_CODE = 86
KEYED_METHODS = frozenset({"POST", "PUT"})  # a PUT may submit the draft it edits: its retry must answer the same
RouteHandler = Callable[[Request], Coroutine[Any, Any, Response]]


def fingerprint(method: str, path: str, body: bytes) -> str:
    """The request as the key must see it again: method, path and query, and the body (JSON key order aside)."""
    try:
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        pass  # not JSON: the raw bytes are the body
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


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
    """A route class whose POST and PUT routes honour `Idempotency-Key`, scoped by the value of the `principal`
    dependency.

    One line per router: `APIRouter(route_class=idempotent_route(current_partner))`. The app needs
    `app.state.idempotency` (an IdempotencyStore) and a servicekit runtime for its engine and clock; the units of
    work of a keyed request join `request_transaction()` (adapters/idempotency.py).
    """

    # a plain default, not Annotated: postponed annotations cannot see this closure's `principal`. The clock is read
    # from the runtime, not asked for as a dependency: FastAPI solves every dependency of every request
    async def claim(request: Request, key: KeyHeader = None, who: Any = Depends(principal)) -> None:  # noqa: B008
        if key is None:
            return
        store: IdempotencyStore = request.app.state.idempotency
        request_hash = fingerprint(request.method, str(request.url.path) + "?" + request.url.query,
                                   await request.body())
        runtime = runtime_of(request.app)
        claimed = await store.claim(runtime.engine, str(who), key, request_hash, runtime.clock())
        if not isinstance(claimed, Claim):
            raise _Answered(_answer(claimed, request_hash))
        held: RequestTransaction = request.state.idempotency_held
        held.claim = claimed
        await store.hold(await held.begin(), claimed)

    class IdempotentRoute(APIRoute):
        def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
            if KEYED_METHODS & {m.upper() for m in kwargs.get("methods") or ()}:
                kwargs["dependencies"] = [*(kwargs.get("dependencies") or ()), Depends(claim)]
                kwargs["responses"] = {**RESPONSES, **(kwargs.get("responses") or {})}
            super().__init__(path, endpoint, **kwargs)

        def get_route_handler(self) -> RouteHandler:
            return _remembering(super().get_route_handler())

    return IdempotentRoute


def _remembering(handle: RouteHandler) -> RouteHandler:
    """Run a request that holds a key in one transaction with its stored answer; give the key back if it failed."""

    async def handler(request: Request) -> Response:
        async with serving(runtime_of(request.app).engine) as held:
            request.state.idempotency_held = held
            try:
                response = await handle(request)
                return await _commit(request, held, response) if held.claim is not None else response
            except _Answered as answered:
                return answered.response
            except Exception:
                await _give_back(request, held)
                raise

    return handler


async def _commit(request: Request, held: RequestTransaction, response: Response) -> Response:
    """The effects and the answer commit together: a retry finds both or neither."""
    assert held.claim is not None
    store: IdempotencyStore = request.app.state.idempotency
    transaction = await held.begin()
    answer = Answer(response.status_code, bytes(response.body), response.headers.get("content-type"))
    if not await store.finish(transaction, held.claim, answer):
        # ran past the in-flight timeout and a retry took the key: that retry's effects are the ones that count
        await transaction.rollback()
        return _in_flight()
    await transaction.commit()
    if store.settings.test_crash_after_commit:
        os._exit(CRASH_EXIT_CODE)  # test-only fault injection: die between the commit and the answer
    return response


async def _give_back(request: Request, held: RequestTransaction) -> None:
    if held.claim is None:
        return
    if held.transaction is not None:
        # roll back first: a failed finish may still hold the key's row lock that the give-back needs
        await held.transaction.close()
    store: IdempotencyStore = request.app.state.idempotency
    await store.release(runtime_of(request.app).engine, held.claim)
