"""Telemetry's FastAPI app: its router, access tokens checked, and each domain error's HTTP status."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from servicekit.auth import TokenVerifier, install_auth
from servicekit.clock import Clock, utcnow
from servicekit.http import DomainErrors, FieldError, problem
from servicekit.runtime import build_api
from telemetry.bootstrap import bootstrap
from telemetry.config import Settings
from telemetry.domain.errors import (
    AllocationNotFound,
    BadRange,
    BatchTooLarge,
    HostNotMapped,
    MalformedBatch,
    SamplesFromTheFuture,
    ServersOfAnotherCsp,
    UnsupportedMediaType,
)
from telemetry.entrypoints import metrics, routes_hosts, routes_remote_write, routes_views
from telemetry.entrypoints.admission import install_admission
from telemetry.entrypoints.routes import router
from telemetry.entrypoints.schemas import capped

DOMAIN_ERRORS: DomainErrors = {AllocationNotFound: 404, BadRange: 422, HostNotMapped: 404, MalformedBatch: 400,
                               BatchTooLarge: 413, UnsupportedMediaType: 415}


def create_app(settings: Settings, *, clock: Clock = utcnow) -> FastAPI:
    app = build_api(lambda: bootstrap(settings, clock=clock), title="Telemetry",
                    description="GPU utilization from the CSPs, measured against each allocation's plan.",
                    routers=[router, routes_remote_write.router, routes_hosts.router, routes_views.router],
                    domain_errors=DOMAIN_ERRORS)
    install_auth(app, TokenVerifier.from_settings(settings.auth))
    install_admission(app, settings)  # the ingest path's backpressure: requests in flight bounded, bodies capped
    app.add_exception_handler(ServersOfAnotherCsp, _servers_of_another_csp)
    app.add_exception_handler(SamplesFromTheFuture, _samples_from_the_future)
    metrics.register(app)
    return app


async def _servers_of_another_csp(_: Request, exc: Exception) -> JSONResponse:
    """403 naming each refused line, the way a 422 names each bad one."""
    assert isinstance(exc, ServersOfAnotherCsp)
    errors = [FieldError(field=f"line {number}: server", reason=f"{server} is not a server of CSP {exc.csp_id}")
              for number, server in exc.lines]
    return problem(403, "Forbidden", str(exc), capped(errors, lambda msg: FieldError(field="body", reason=msg)))


async def _samples_from_the_future(_: Request, exc: Exception) -> JSONResponse:
    """422 naming each line dated too far ahead, the way a bad line is named."""
    assert isinstance(exc, SamplesFromTheFuture)
    errors = [FieldError(field=f"line {number}: ts", reason=f"{ts.isoformat()} is after {exc.latest.isoformat()}, "
                                                            f"the server's clock and its allowed skew")
              for number, ts in exc.lines]
    return problem(422, "Invalid request", str(exc), capped(errors, lambda msg: FieldError(field="body", reason=msg)))
