"""Billing's SQL unit of work: the shared SQL unit of work plus billing's repositories.

It meets the service layer's port (billing.service.unit_of_work.BillingUnitOfWork); the API's reads use it directly.
"""
from __future__ import annotations

from billing.adapters.repository import (
    DocumentRepository,
    GrantRepository,
    LedgerRepository,
    PriceRepository,
    ProfileRepository,
    UsageRepository,
)
from servicekit.uow import SqlUnitOfWork


class SqlBillingUnitOfWork(SqlUnitOfWork):
    profiles: ProfileRepository
    grants: GrantRepository
    prices: PriceRepository
    ledger: LedgerRepository
    documents: DocumentRepository
    usage: UsageRepository

    def _start(self) -> None:
        self.profiles = ProfileRepository(self.session)
        self.grants = GrantRepository(self.session)
        self.prices = PriceRepository(self.session)
        self.ledger = LedgerRepository(self.session)
        self.documents = DocumentRepository(self.session)
        self.usage = UsageRepository(self.session)
