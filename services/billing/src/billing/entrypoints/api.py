"""Billing's FastAPI app: its routers, access tokens checked, and each domain error's HTTP status."""
from __future__ import annotations

from fastapi import FastAPI

from billing.bootstrap import bootstrap
from billing.config import Settings
from billing.domain.errors import (
    ApplicationNotFound,
    DocumentNotFound,
    DocumentStateConflict,
    NotAProject,
    ReleaseAlreadyRecorded,
)
from billing.entrypoints.routes import documents, ledger, prices, releases, settlements
from billing.entrypoints.routes_exports import document_exports, settlement_exports
from servicekit.auth import TokenVerifier, install_auth
from servicekit.clock import Clock, utcnow
from servicekit.http import DomainErrors
from servicekit.runtime import build_api

DOMAIN_ERRORS: DomainErrors = {
    DocumentNotFound: 404, ApplicationNotFound: 404, ReleaseAlreadyRecorded: 409, DocumentStateConflict: 409,
    NotAProject: 422,
}


def create_app(settings: Settings, *, clock: Clock = utcnow) -> FastAPI:
    app = build_api(lambda: bootstrap(settings, clock=clock), title="Billing",
                    description="Market prices, the ledger of what each payer owes, monthly invoices and credit "
                                "notes, and the CSPs' settlements of the GPU support programs.",
                    routers=[prices, releases, documents, ledger, settlements, document_exports, settlement_exports],
                    domain_errors=DOMAIN_ERRORS)
    install_auth(app, TokenVerifier.from_settings(settings.auth))
    return app
