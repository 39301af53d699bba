"""Intake's FastAPI app: its routers, and each domain error mapped to its HTTP status in one place."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from intake.adapters.idempotency import IdempotencyStore
from intake.adapters.orm import credentials, idempotency_key
from intake.bootstrap import bootstrap
from intake.config import Settings
from intake.domain.errors import (
    ApplicationNotFound,
    CallNotFound,
    InvalidInput,
    InvalidTransition,
    OfferClosed,
    TooManyWebhooks,
    WebhookNotFound,
)
from intake.entrypoints import calls, routes, webhooks
from servicekit.auth import TokenIssuer, TokenVerifier, discovery_router, install_auth, token_router
from servicekit.http import FieldError, problem
from servicekit.runtime import build_api

DOMAIN_ERRORS = {ApplicationNotFound: 404, CallNotFound: 404, WebhookNotFound: 404, InvalidTransition: 409,
                 OfferClosed: 409, TooManyWebhooks: 409}
FORM_TAGS = frozenset({"P1", "P2", "P3"})


def create_app(settings: Settings) -> FastAPI:
    """Refuses to start without the signing and verification keys: there is no unauthenticated mode."""
    # the token router is mounted as it is, outside the idempotent routes: a stored response to POST /clients or
    # POST /oauth/token would keep a client secret or an access token in clear in the idempotency table
    issuer = TokenIssuer.from_settings(settings.auth)
    auth = token_router(credentials, issuer)
    app = build_api(lambda: bootstrap(settings), title="Intake",
                    description="Programs, calls and applications from partner portals for the GPU support programs, "
                                "the partners' webhooks, and the platform's OAuth2 token issuer.",
                    routers=[auth, discovery_router(issuer, settings.auth), calls.router, routes.router,
                             webhooks.router], domain_errors=DOMAIN_ERRORS)
    # the issuer trusts the keys it publishes, never fetched from itself
    install_auth(app, TokenVerifier.of_issuer(issuer, settings.auth))
    app.add_exception_handler(InvalidInput, _invalid_input)
    _name_form_fields(app)
    app.state.idempotency = IdempotencyStore(idempotency_key, settings.idempotency)
    return app


async def _invalid_input(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInput)
    return problem(422, "Invalid input", str(exc), [FieldError(field=f, reason=r) for f, r in exc.problems])


def _name_form_fields(app: FastAPI) -> None:
    """The forms are a union tagged by `program`: errors name `company.size`, not `P1.company.size`, and an
    unknown or missing program is named `program`. A header two dependencies read is named once."""
    named_by_servicekit = app.exception_handlers[RequestValidationError]

    def untagged(error: dict[str, Any]) -> dict[str, Any]:
        loc = tuple(error.get("loc", ()))
        if error.get("type") in {"union_tag_invalid", "union_tag_not_found"}:
            loc = (*loc, "program")
        elif len(loc) > 1 and loc[0] == "body" and loc[1] in FORM_TAGS:
            loc = (loc[0], *loc[2:])
        return {**error, "loc": loc}

    async def handle(request: Request, exc: Exception) -> Any:
        assert isinstance(exc, RequestValidationError)
        errors = list({(e["loc"], e.get("type")): e for e in map(untagged, exc.errors())}.values())
        return await named_by_servicekit(request, RequestValidationError(errors, body=exc.body))

    app.add_exception_handler(RequestValidationError, handle)
