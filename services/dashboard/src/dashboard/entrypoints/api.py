"""The dashboard's FastAPI app: its router, access tokens checked (operators only), each domain error's status."""
from __future__ import annotations

from fastapi import FastAPI

from dashboard.bootstrap import bootstrap
from dashboard.config import Settings
from dashboard.domain.errors import ApplicationNotFound
from dashboard.entrypoints.routes import router
from servicekit.auth import TokenVerifier, install_auth
from servicekit.clock import Clock, utcnow
from servicekit.http import DomainErrors
from servicekit.runtime import build_api

DOMAIN_ERRORS: DomainErrors = {ApplicationNotFound: 404}


def create_app(settings: Settings, *, clock: Clock = utcnow) -> FastAPI:
    app = build_api(lambda: bootstrap(settings, clock=clock), title="Dashboard",
                    description="The operators' view of the platform: every event, live; each application's story; "
                                "the funnel per program and call.",
                    routers=[router], domain_errors=DOMAIN_ERRORS)
    install_auth(app, TokenVerifier.from_settings(settings.auth))
    return app
