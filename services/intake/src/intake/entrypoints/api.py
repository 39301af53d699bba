"""Intake's FastAPI app: its routers, and each domain error mapped to its HTTP status in one place."""
from __future__ import annotations

import inspect
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError

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
from intake.entrypoints import routes, routes_calls, routes_search, routes_webhooks
from servicekit.auth import TokenIssuer, TokenVerifier, discovery_router, install_auth, token_router
from servicekit.clock import Clock, utcnow
from servicekit.http import DomainErrors
from servicekit.runtime import build_api

DOMAIN_ERRORS: DomainErrors = {
    ApplicationNotFound: 404, CallNotFound: 404, WebhookNotFound: 404, InvalidTransition: 409, OfferClosed: 409,
    TooManyWebhooks: 409, InvalidInput: 422,
}
FORM_TAGS = frozenset({"P1", "P2", "P3"})


def create_app(settings: Settings, *, clock: Clock = utcnow) -> FastAPI:
    """Refuses to start without the signing and verification keys: there is no unauthenticated mode."""
    # the token router is mounted as it is, outside the idempotent routes: a stored response to POST /clients or
    # POST /oauth/token would keep a client secret or an access token in clear in the idempotency table
    issuer = TokenIssuer.from_settings(settings.auth)
    auth = token_router(credentials, issuer)
    app = build_api(lambda: bootstrap(settings, clock=clock), title="Intake",
                    description="Programs, calls and applications from partner portals for the GPU support programs, "
                                "the partners' webhooks, and the platform's OAuth2 token issuer.",
                    routers=[auth, discovery_router(issuer, settings.auth), routes_calls.router, routes.router,
                             routes_search.router, routes_webhooks.router], domain_errors=DOMAIN_ERRORS)
    # the issuer trusts the keys it publishes, never fetched from itself
    install_auth(app, TokenVerifier.of_issuer(issuer, settings.auth))
    _name_form_fields(app)
    app.state.idempotency = IdempotencyStore(idempotency_key, settings.idempotency)
    return app


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
        named = named_by_servicekit(request, RequestValidationError(errors, body=exc.body))
        return await named if inspect.isawaitable(named) else named

    app.add_exception_handler(RequestValidationError, handle)
