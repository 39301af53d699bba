"""The dashboard's FastAPI app: its router, access tokens checked (operators only), each domain error's status."""
from __future__ import annotations

from fastapi import FastAPI

from dashboard.bootstrap import bootstrap
from dashboard.config import Settings
from dashboard.domain.errors import ApplicationNotFound, DeadLetterNotFound
from dashboard.entrypoints import routes_upstream, session, web
from dashboard.entrypoints.routes import router
from dashboard.entrypoints.routes_dead_letters import router as dead_letters
from dashboard.entrypoints.routes_views import router as views
from dashboard.entrypoints.upstream import upstream_lifespan
from servicekit.auth import SessionCookie, TokenVerifier, install_auth
from servicekit.clock import Clock, utcnow
from servicekit.http import DomainErrors
from servicekit.runtime import build_api

DOMAIN_ERRORS: DomainErrors = {ApplicationNotFound: 404, DeadLetterNotFound: 404}


def create_app(settings: Settings, *, clock: Clock = utcnow) -> FastAPI:
    app = build_api(lambda: bootstrap(settings, clock=clock), title="Dashboard",
                    description="The operators' view of the platform: every event, live; each application's story; "
                                "the funnel per program and call; and their web page (`/`), with sign-in and the "
                                "operator actions it passes on to the owning services.",
                    routers=[router, dead_letters, views, session.router, routes_upstream.router, web.router,
                             upstream_lifespan()],
                    domain_errors=DOMAIN_ERRORS)
    app.state.settings = settings
    install_auth(app, TokenVerifier.from_settings(settings.auth),
                 session=SessionCookie(settings.session.cookie_name, secure=settings.session.secure_cookie))
    app.mount("/static", web.assets(), name="static")
    return app
