"""The invoicing clock's round: every open account whose period has ended is invoiced, each in its own transaction."""
from __future__ import annotations

import logging
from collections.abc import Callable
from uuid import UUID

from billing.domain.commands import InvoiceEndedAccount
from billing.service.unit_of_work import BillingUnitOfWork
from servicekit.bus import MessageBus
from servicekit.clock import Clock
from servicekit.retry import is_outage

log = logging.getLogger(__name__)


class InvoicingIncomplete(Exception):
    """Some ended accounts could not be invoiced this round; the others were. The next round tries them again."""

    def __init__(self, failed: dict[UUID, Exception]) -> None:
        names = ", ".join(f"{allocation_id} ({type(exc).__name__}: {exc})" for allocation_id, exc in failed.items())
        super().__init__(f"{len(failed)} ended accounts not invoiced: {names}")
        self.failed = failed


async def invoice_ended_accounts(bus: MessageBus, uow_factory: Callable[[], BillingUnitOfWork], clock: Clock, *,
                                 batch_size: int) -> int:
    """Invoice the accounts ended by now, a batch at a time; returns how many were invoiced.

    Each account goes through the bus alone, so one that fails leaves the others' invoices standing, and an
    account invoiced meanwhile (by a reclaim or another worker) is skipped by its handler. An account whose invoice
    fails is passed over for the rest of the round (it would otherwise come first in every batch and hold back all
    the others); the round then ends in InvoicingIncomplete, so the worker's health reports it. An outage of the
    database ends the round at once: nothing else could be invoiced either.
    """
    now = clock()
    invoiced = 0
    failed: dict[UUID, Exception] = {}
    while True:
        limit = batch_size + len(failed)
        async with uow_factory() as uow:
            due = await uow.accounts.ended(now, limit=limit)
        todo = [allocation_id for allocation_id in due if allocation_id not in failed]
        for allocation_id in todo:
            try:
                if await bus.handle(InvoiceEndedAccount(allocation_id=allocation_id, at=now)) is not None:
                    invoiced += 1
            except Exception as exc:
                if is_outage(exc):
                    raise
                log.exception("invoicing allocation %s failed; the round goes on without it", allocation_id)
                failed[allocation_id] = exc
        if len(due) < limit or not todo:
            break
    if failed:
        raise InvoicingIncomplete(failed)
    return invoiced
