"""Allocation's unit of work: the shared SQL unit of work plus inventory, allocation and waiting repositories."""
from __future__ import annotations

from allocation.adapters.repository import AllocationRepository, InventoryRepository, WaitingRepository
from servicekit.uow import SqlUnitOfWork


class AllocationUnitOfWork(SqlUnitOfWork):
    inventory: InventoryRepository
    allocations: AllocationRepository
    waiting: WaitingRepository

    def _start(self) -> None:
        self.inventory = InventoryRepository(self.session)
        self.allocations = AllocationRepository(self.session)
        self.waiting = WaitingRepository(self.session)
