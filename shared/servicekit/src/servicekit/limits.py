"""Request bodies within bounds, checked as they arrive: a byte cap per app or per route (413), JSON nesting (400).

Nothing is buffered here: a body is counted chunk by chunk on its way to the route, and refused by its
Content-Length before a byte of it is read.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.http import answering_errors, http_problem, scope_header
from servicekit.settings import HttpSettings

MAX_BODY_KEY = "x-max-body-bytes"
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENERS = frozenset(b"[{")


def body_limit(max_bytes: int) -> dict[str, Any]:
    """A route's own byte cap, instead of the app's (`openapi_extra=body_limit(...)`); the OpenAPI shows it too."""
    if max_bytes < 0:
        raise ValueError("a body limit is a number of bytes, 0 or more")
    return {MAX_BODY_KEY: max_bytes}


class BodyTooLarge(HTTPException):
    field = "body"

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"larger than {limit} bytes, the most this endpoint takes")


class JsonTooDeep(HTTPException):
    field = "body"

    def __init__(self, limit: int) -> None:
        super().__init__(400, f"JSON nested deeper than {limit} levels")


class BodyLimitMiddleware:
    """Wraps each request's `receive`; the error is raised in the route that reads the body, whose handlers make it
    a problem response, and answered here if it escapes them."""

    def __init__(self, app: ASGIApp, settings: Callable[[], HttpSettings]) -> None:
        self.app = app
        self._settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        guarded = _GuardedBody(scope, receive, self._settings())
        await answering_errors(self.app, scope, guarded.receive, send,
                               lambda exc: http_problem(exc) if isinstance(exc, BodyTooLarge | JsonTooDeep) else None)


class _GuardedBody:
    def __init__(self, scope: Scope, receive: Receive, settings: HttpSettings) -> None:
        self._scope, self._receive, self._settings = scope, receive, settings
        self._limit: int | None = None
        self._received = 0
        self._depth = JsonDepth(settings.max_json_depth) if _is_json(scope) else None

    async def receive(self) -> Message:
        if self._limit is None:
            # first read: routing is done by now, so the route's own cap is known
            self._limit = _route_limit(self._scope, self._settings.max_body_bytes)
            declared = _content_length(self._scope)
            if declared is not None and declared > self._limit:
                raise BodyTooLarge(self._limit)
        message = await self._receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            self._received += len(chunk)
            if self._received > self._limit:
                raise BodyTooLarge(self._limit)
            if self._depth is not None:
                self._depth.feed(chunk)
        return message


class JsonDepth:
    """How deep a JSON text nests, fed in chunks: brackets outside strings are counted, escapes skipped."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.depth = 0
        self._in_string = False
        self._escaped_next = False  # the chunk ended on a backslash: the next chunk's first byte is escaped

    def feed(self, chunk: bytes) -> None:
        if self._escaped_next and chunk:
            chunk, self._escaped_next = chunk[1:], False
        chunk = _ESCAPE.sub(b"", chunk)
        if chunk.endswith(b"\\"):
            chunk, self._escaped_next = chunk[:-1], True
        for index, part in enumerate(chunk.split(b'"')):
            if index:
                self._in_string = not self._in_string
            if not self._in_string:
                self._count(part)

    def _count(self, part: bytes) -> None:
        for bracket in part.translate(None, _NOT_BRACKETS):
            self.depth += 1 if bracket in _OPENERS else -1
            if self.depth > self.limit:
                raise JsonTooDeep(self.limit)


def _route_limit(scope: Scope, default: int) -> int:
    extra = getattr(scope.get("route"), "openapi_extra", None) or {}
    limit = extra.get(MAX_BODY_KEY)
    return limit if isinstance(limit, int) else default


def _content_length(scope: Scope) -> int | None:
    value = scope_header(scope, b"content-length")
    # a malformed length is the server's to refuse; the bytes are counted all the same
    return int(value) if value is not None and value.strip().isdigit() else None


def _is_json(scope: Scope) -> bool:
    media_type = (scope_header(scope, b"content-type") or "").split(";")[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/")
                                                and media_type.endswith("+json"))
