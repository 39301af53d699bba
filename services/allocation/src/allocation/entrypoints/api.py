"""Allocation's FastAPI app: its routers, access tokens checked, and each domain error's HTTP status."""
from __future__ import annotations

from fastapi import FastAPI

from allocation.bootstrap import bootstrap
from allocation.config import Settings
from allocation.domain.errors import (
    AllocationEnded,
    DuplicateName,
    InvalidInput,
    NotFound,
    NotReplayable,
    OfferClosed,
    Overlap,
)
from allocation.entrypoints.routes import inventory
from allocation.entrypoints.routes_allocations import allocations
from allocation.entrypoints.routes_rounds import lines
from servicekit.auth import TokenVerifier, install_auth
from servicekit.clock import Clock, utcnow
from servicekit.http import DomainErrors
from servicekit.runtime import build_api

DOMAIN_ERRORS: DomainErrors = {NotFound: 404, DuplicateName: 409, AllocationEnded: 409, OfferClosed: 409,
                               Overlap: 409, NotReplayable: 409, InvalidInput: 422}


def create_app(settings: Settings, *, clock: Clock = utcnow) -> FastAPI:
    app = build_api(lambda: bootstrap(settings, clock=clock), title="Allocation",
                    description="GPU inventory of the CSP and government pools, and who holds which GPU when.",
                    routers=[inventory, allocations, lines], domain_errors=DOMAIN_ERRORS)
    install_auth(app, TokenVerifier.from_settings(settings.auth))
    return app
