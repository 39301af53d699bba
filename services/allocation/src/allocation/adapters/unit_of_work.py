"""Allocation's SQL unit of work: the shared one plus the inventory, allocation, waiting, round and offer
repositories; it meets the service layer's port (service/unit_of_work.py)."""
from __future__ import annotations

from allocation.adapters.repository import AllocationRepository, WaitingRepository
from allocation.adapters.repository_inventory import InventoryRepository
from allocation.adapters.repository_offers import OfferRepository
from allocation.adapters.repository_rounds import RoundRepository
from servicekit.uow import SqlUnitOfWork


class SqlAllocationUnitOfWork(SqlUnitOfWork):
    inventory: InventoryRepository
    allocations: AllocationRepository
    waiting: WaitingRepository
    rounds: RoundRepository
    offers: OfferRepository

    def _start(self) -> None:
        self.inventory = InventoryRepository(self.session)
        self.allocations = AllocationRepository(self.session)
        self.waiting = WaitingRepository(self.session)
        self.rounds = RoundRepository(self.session)
        self.offers = OfferRepository(self.session)
