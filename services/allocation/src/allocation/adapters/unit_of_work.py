"""Allocation's unit of work: the shared SQL unit of work plus the inventory, allocation, waiting, round and offer
repositories."""
from __future__ import annotations

from allocation.adapters.decisions import OfferRepository, RoundRepository
from allocation.adapters.inventory import InventoryRepository
from allocation.adapters.repository import AllocationRepository, WaitingRepository
from servicekit.uow import SqlUnitOfWork


class AllocationUnitOfWork(SqlUnitOfWork):
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
