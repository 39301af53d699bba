"""Billing's SQL unit of work: the shared SQL unit of work plus billing's repositories.

It meets the service layer's port (billing.service.unit_of_work.BillingUnitOfWork); the API's reads use it directly.
"""
from __future__ import annotations

from billing.adapters.repository import AccountRepository, InvoiceRepository, TariffRepository, UsageRepository
from servicekit.uow import SqlUnitOfWork


class SqlBillingUnitOfWork(SqlUnitOfWork):
    tariffs: TariffRepository
    accounts: AccountRepository
    usage: UsageRepository
    invoices: InvoiceRepository

    def _start(self) -> None:
        self.tariffs = TariffRepository(self.session)
        self.accounts = AccountRepository(self.session)
        self.usage = UsageRepository(self.session)
        self.invoices = InvoiceRepository(self.session)
