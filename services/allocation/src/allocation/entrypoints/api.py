"""Allocation's FastAPI app: its routers, access tokens checked, and each domain error's HTTP status."""
from __future__ import annotations

from fastapi import FastAPI

from allocation.bootstrap import bootstrap
from allocation.config import Settings
from allocation.domain.errors import AllocationEnded, DuplicateName, InvalidInput, NotFound, OfferClosed, Overlap
from allocation.entrypoints.rounds import lines
from allocation.entrypoints.routes import allocations, inventory
from servicekit.auth import TokenVerifier, install_auth
from servicekit.runtime import build_api

DOMAIN_ERRORS = {NotFound: 404, DuplicateName: 409, AllocationEnded: 409, OfferClosed: 409, Overlap: 409,
                 InvalidInput: 422}


def create_app(settings: Settings) -> FastAPI:
    app = build_api(lambda: bootstrap(settings), title="Allocation",
                    description="GPU inventory of the CSP and government pools, and who holds which GPU when.",
                    routers=[inventory, allocations, lines], domain_errors=DOMAIN_ERRORS)
    install_auth(app, TokenVerifier.from_settings(settings.auth))
    return app
