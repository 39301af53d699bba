"""Billing's FastAPI app."""
from __future__ import annotations

from fastapi import FastAPI

from billing.bootstrap import bootstrap
from billing.config import Settings
from billing.domain.errors import AccountAlreadyInvoiced, AccountNotFound, InvalidTariff, InvoiceNotFound
from billing.entrypoints.routes import accounts, invoices, tariffs
from servicekit.runtime import build_api

DOMAIN_ERRORS = {AccountNotFound: 404, InvoiceNotFound: 404, AccountAlreadyInvoiced: 409, InvalidTariff: 422}


def create_app(settings: Settings) -> FastAPI:
    return build_api(lambda: bootstrap(settings), title="Billing",
                     description="Tariffs, usage accounts and invoices of the GPU support programs.",
                     routers=[tariffs, accounts, invoices], domain_errors=DOMAIN_ERRORS)
