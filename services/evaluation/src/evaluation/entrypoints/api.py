"""Evaluation's FastAPI app, and the one place its domain errors become HTTP statuses."""
from __future__ import annotations

from fastapi import FastAPI

from evaluation.bootstrap import bootstrap
from evaluation.config import Settings
from evaluation.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from evaluation.entrypoints.routes import rounds, router
from evaluation.entrypoints.routes_panels import reviewers
from evaluation.entrypoints.routes_policies import policies
from servicekit.auth import TokenVerifier, install_auth
from servicekit.clock import Clock, utcnow
from servicekit.http import DomainErrors
from servicekit.runtime import build_api

# InvalidInput: input the schema let through but the domain refuses, a 422 naming every field like a schema error
DOMAIN_ERRORS: DomainErrors = {NotFound: 404, Forbidden: 403, Conflict: 409, InvalidInput: 422}


def create_app(settings: Settings, *, clock: Clock = utcnow) -> FastAPI:
    """`clock` is the service's "now" (the handlers' and the routes'): tests move it."""
    app = build_api(lambda: bootstrap(settings, clock=clock), title="Evaluation",
                    description="Eligibility, review panels, scores and their explanations, under versioned "
                                "scoring policies. Every request wants a bearer access token from intake's "
                                "`POST /oauth/token`: most endpoints are for operators; a reviewer's token "
                                "submits its reviews and reads its assignments and their evaluations.",
                    routers=[router, rounds, reviewers, policies], domain_errors=DOMAIN_ERRORS)
    install_auth(app, TokenVerifier.from_settings(settings.auth))
    return app
