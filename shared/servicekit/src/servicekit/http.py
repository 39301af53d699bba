"""HTTP plumbing every API shares: errors as problem details naming the field."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

log = logging.getLogger(__name__)


class FieldError(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    """An error response (RFC 9457 problem details)."""

    title: str
    status: int
    detail: str = ""
    errors: list[FieldError] = []


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "Not found"},
    409: {"model": Problem, "description": "Conflict with the current state"},
    422: {"model": Problem, "description": "Invalid input: each field and the reason"},
}


def problem(status: int, title: str, detail: str = "", errors: list[FieldError] | None = None) -> JSONResponse:
    body = Problem(title=title, status=status, detail=detail, errors=errors or [])
    return JSONResponse(body.model_dump(), status_code=status, media_type="application/problem+json")


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] if parts[0] == "body" else parts
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI, domain_errors: Mapping[type[Exception], int]) -> None:
    """Map invalid input to 422 naming each field, and each domain error to its status, in one place."""

    async def invalid_request(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [FieldError(field=_field_name(tuple(e.get("loc", ()))), reason=str(e.get("msg", "invalid")))
                  for e in exc.errors()]
        return problem(422, "Invalid request", "; ".join(f"{e.field}: {e.reason}" for e in errors), errors)

    app.add_exception_handler(RequestValidationError, invalid_request)
    for error_type, status in domain_errors.items():
        app.add_exception_handler(error_type, _domain_handler(status))


def _domain_handler(status: int) -> Any:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        field = getattr(exc, "field", None)
        errors = [FieldError(field=field, reason=str(exc))] if field else []
        return problem(status, type(exc).__name__, str(exc), errors)
    return handle
