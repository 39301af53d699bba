"""Evaluation's FastAPI app, and the one place its domain errors become HTTP statuses."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from evaluation.bootstrap import bootstrap
from evaluation.config import Settings
from evaluation.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from evaluation.entrypoints.panel_routes import reviewers
from evaluation.entrypoints.routes import rounds, router
from evaluation.entrypoints.routes_policies import policies
from evaluation.service.clock import Clock, utcnow
from servicekit.auth import TokenVerifier, install_auth
from servicekit.http import FieldError, problem
from servicekit.runtime import build_api

DOMAIN_ERRORS = {NotFound: 404, Forbidden: 403, Conflict: 409}


async def _invalid_input(_: Request, exc: Exception) -> JSONResponse:
    """Input the schema let through but the domain refuses: 422 naming every field, like a schema error."""
    assert isinstance(exc, InvalidInput)
    return problem(422, "Invalid request", str(exc), [FieldError(field=f, reason=r) for f, r in exc.errors])


def create_app(settings: Settings, *, clock: Clock = utcnow) -> FastAPI:
    """`clock` is the service's "now" for policy changes (the handlers' and the policy routes'): tests move it."""
    app = build_api(lambda: bootstrap(settings, clock=clock), title="Evaluation",
                    description="Eligibility, review panels, scores and their explanations, under versioned "
                                "scoring policies. Every request wants a bearer access token from intake's "
                                "`POST /oauth/token`: most endpoints are for operators; a reviewer's token "
                                "submits its reviews and reads its assignments and their evaluations.",
                    routers=[router, rounds, reviewers, policies], domain_errors=DOMAIN_ERRORS)
    app.state.clock = clock
    install_auth(app, TokenVerifier.from_settings(settings.auth))
    app.add_exception_handler(InvalidInput, _invalid_input)
    return app
