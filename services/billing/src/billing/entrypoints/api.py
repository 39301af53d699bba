"""Billing's FastAPI app: its routers, access tokens checked, and each domain error's HTTP status."""
from __future__ import annotations

from fastapi import FastAPI

from billing.bootstrap import bootstrap
from billing.config import Settings
from billing.domain.errors import AccountAlreadyInvoiced, AccountNotFound, InvalidTariff, InvoiceNotFound
from billing.entrypoints.routes import accounts, invoices, tariffs
from servicekit.auth import TokenVerifier, install_auth
from servicekit.clock import Clock, utcnow
from servicekit.http import DomainErrors
from servicekit.runtime import build_api

DOMAIN_ERRORS: DomainErrors = {
    AccountNotFound: 404, InvoiceNotFound: 404, AccountAlreadyInvoiced: 409, InvalidTariff: 422,
}


def create_app(settings: Settings, *, clock: Clock = utcnow) -> FastAPI:
    app = build_api(lambda: bootstrap(settings, clock=clock), title="Billing",
                    description="Tariffs, usage accounts and invoices of the GPU support programs.",
                    routers=[tariffs, accounts, invoices], domain_errors=DOMAIN_ERRORS)
    install_auth(app, TokenVerifier.from_settings(settings.auth))
    return app
