"""HTTP plumbing every API shares: every error a problem document (RFC 9457) naming the field, and so documented."""
from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.retry import is_overload, is_transient

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
# FastAPI's answer to a body it could not decode (not UTF-8, say): the body is the field at fault
_BODY_PARSE_ERROR = "There was an error parsing the body"


class FieldError(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    """An error response (RFC 9457 problem details)."""

    title: str
    status: int
    detail: str = ""
    errors: list[FieldError] = []
    error_id: str | None = Field(default=None, description="On a 500 or 503: the id under which the error was logged.")


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "Not found"},
    409: {"model": Problem, "description": "Conflict with the current state"},
    422: {"model": Problem, "description": "Invalid input: each field and the reason"},
}


def problem(status: int, title: str, detail: str = "", errors: list[FieldError] | None = None, *,
            headers: Mapping[str, str] | None = None, error_id: str | None = None) -> JSONResponse:
    body = Problem(title=title, status=status, detail=detail, errors=errors or [], error_id=error_id)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON,
                        headers=dict(headers or {}))


def retry_after(seconds: float) -> dict[str, str]:
    """The Retry-After header: whole seconds, rounded up so that a client waiting that long is let through."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def scope_header(scope: Scope, name: bytes) -> str | None:
    """A request header straight from the ASGI scope (`name` in lower case), for middleware."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] if parts[0] == "body" else parts
    return ".".join(parts) or "body"


DomainErrors = Mapping[type[Exception], int]  # each domain error class → its HTTP status, subclasses included


def install_error_handlers(app: FastAPI, domain_errors: DomainErrors) -> None:
    """Invalid input is a 422 naming each field (400 for a body that is not JSON), an HTTP error (404, 405, 413...)
    a problem too, and each domain error its status, in one place."""
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    for error_type, status in domain_errors.items():
        app.add_exception_handler(error_type, _domain_handler(status))


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    malformed = [e for e in exc.errors() if e.get("type") == "json_invalid"]
    if malformed:
        error = malformed[0]
        position = error.get("loc", ())[-1]
        reason = f"not valid JSON: {error.get('ctx', {}).get('error', 'malformed')} (at character {position})"
        return problem(400, "Malformed body", reason, [FieldError(field="body", reason=reason)])
    errors = [FieldError(field=_field_name(tuple(e.get("loc", ()))), reason=str(e.get("msg", "invalid")))
              for e in exc.errors()]
    return problem(422, "Invalid request", "; ".join(f"{e.field}: {e.reason}" for e in errors), errors)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return http_problem(exc)


def http_problem(exc: HTTPException) -> JSONResponse:
    """An HTTP error (404, 405, 413...) as a problem; its `field`, when it has one, is named in `errors`."""
    detail = str(exc.detail)
    field = getattr(exc, "field", None) or ("body" if detail == _BODY_PARSE_ERROR else None)
    errors = [FieldError(field=field, reason=detail)] if field else []
    return problem(exc.status_code, _title(exc.status_code), detail, errors, headers=exc.headers)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _domain_handler(status: int) -> Any:
    """A domain error names what it refuses by convention (domains import nothing of ours): `problems`, a list of
    (field, reason) for input that passed the schema but not the rules, each named like a schema error; else
    `field`, the one field at fault; else nothing but its message."""

    async def handle(_: Request, exc: Exception) -> JSONResponse:
        problems: list[tuple[str, str]] = list(getattr(exc, "problems", None) or [])
        field = getattr(exc, "field", None)
        if problems:
            errors = [FieldError(field=f, reason=r) for f, r in problems]
        else:
            errors = [FieldError(field=field, reason=str(exc))] if field else []
        title = "Invalid request" if status == 422 else type(exc).__name__
        return problem(status, title, str(exc), errors)
    return handle


class UnhandledErrors:
    """The last word on an exception no handler took: 503 with Retry-After while the database or the broker cannot
    be reached, or no pooled connection came free in time (the client should come back), else a 500 whose body holds
    an id for the logs and nothing else."""

    def __init__(self, app: ASGIApp, retry_after_s: Callable[[], int]) -> None:
        self.app = app
        self._retry_after_s = retry_after_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await answering_errors(self.app, scope, receive, send, lambda exc: self._answer(exc, scope))

    def _answer(self, exc: Exception, scope: Scope) -> JSONResponse:
        error_id = uuid.uuid4().hex
        where = f"{scope.get('method')} {scope.get('path')}"
        if _caused_by(exc, is_overload):
            log.warning("overloaded %s on %s: %r", error_id, where, exc)
            return problem(503, "Service Unavailable", "the service has more requests than it can take now; "
                           "retry later", headers=retry_after(self._retry_after_s()), error_id=error_id)
        if _caused_by(exc, is_transient):
            # no traceback: an outage fails every request the same way, and its cause is all there is to say
            log.warning("unavailable %s on %s: %r", error_id, where, exc)
            return problem(503, "Service Unavailable", "a system this service depends on cannot be reached; "
                           "retry later", headers=retry_after(self._retry_after_s()), error_id=error_id)
        log.error("unhandled error %s on %s", error_id, where, exc_info=exc)
        return problem(500, "Internal Server Error", f"an unexpected error, logged as {error_id}",
                       error_id=error_id)


async def answering_errors(app: ASGIApp, scope: Scope, receive: Receive, send: Send,
                           answer: Callable[[Exception], ASGIApp | None]) -> None:
    """Run `app`; an exception it raises before its response started is answered by `answer(exc)` (None: let it
    go). Once the response has started it is too late for another status: the server ends the response."""
    started = False

    async def send_noting_start(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, receive, send_noting_start)
    except Exception as exc:
        response = None if started else answer(exc)
        if response is None:
            raise
        await response(scope, receive, send)


def _caused_by(exc: BaseException | None, kind: Callable[[BaseException], bool]) -> bool:
    """`exc` is of that kind (a passing fault of the database or the broker, say), or a handler re-raised one as its
    cause."""
    for _ in range(5):
        if exc is None:
            return False
        if isinstance(exc, BaseExceptionGroup):
            return all(_caused_by(e, kind) for e in exc.exceptions)
        if kind(exc):
            return True
        exc = exc.__cause__
    return False


_STATUSES = {
    400: "Malformed body: not JSON, or nested too deep",
    404: "Not found",
    413: "The body is larger than this endpoint takes",
    422: "Invalid input: each field and the reason",
    429: "Too many requests from this client: wait for Retry-After",
    500: "An unexpected error, logged under the error_id given",
    503: "A database or broker this service needs is unreachable, or the service is overloaded: retry after "
         "Retry-After",
}
_PROBLEM_REF = "#/components/schemas/Problem"
_REPLACED_REFS = (_PROBLEM_REF, "#/components/schemas/HTTPValidationError")


def document_problems(app: FastAPI, *, rate_limited: Callable[[str, str], bool]) -> None:
    """Every operation's 4xx and 5xx answers in the OpenAPI document as application/problem+json (Problem):
    those the routes declare, and those any route may give. `rate_limited(method, path)` says where 429 is."""
    generate = app.openapi
    done: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not done:
            done.append(_with_problems(generate(), rate_limited))
        return done[0]

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend its schema


def _with_problems(spec: dict[str, Any], rate_limited: Callable[[str, str], bool]) -> dict[str, Any]:
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            # the probes answer their own JSON, for load balancers
            if isinstance(operation, dict) and "responses" in operation and "health" not in operation.get("tags", ()):
                _document(operation, _statuses(method.upper(), path, operation, rate_limited))
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    text = str(spec.get("paths"))
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{unused}" not in text:
            schemas.pop(unused, None)
    return spec


def _statuses(method: str, path: str, operation: dict[str, Any],
              rate_limited: Callable[[str, str], bool]) -> set[int]:
    statuses = {500, 503}
    if "requestBody" in operation:
        statuses |= {400, 413, 422}
    if operation.get("parameters"):
        statuses.add(422)
    if "{" in path:
        statuses.add(404)
    if rate_limited(method, path):
        statuses.add(429)
    return statuses


def _document(operation: dict[str, Any], statuses: set[int]) -> None:
    responses: dict[str, Any] = operation["responses"]
    for status in statuses:
        responses.setdefault(str(status), {"description": _STATUSES[status]})
    for code, response in responses.items():
        if code[:1] in {"4", "5"} and _is_problem(response):
            response["content"] = {PROBLEM_JSON: {"schema": {"$ref": _PROBLEM_REF}}}


def _is_problem(response: dict[str, Any]) -> bool:
    """Undocumented content, or FastAPI's own validation error: both are Problems here. A route's own format (the
    token endpoint's RFC 6749 errors, the probes' JSON) stays as declared."""
    content = response.get("content")
    if not content:
        return True
    schemas = [media.get("schema", {}) for media in content.values()]
    return all(schema.get("$ref") in _REPLACED_REFS for schema in schemas)
