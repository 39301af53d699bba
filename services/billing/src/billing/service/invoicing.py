"""The invoicing clock's round: drafts redrawn from the ledger, and drafts that waited long enough issued."""
from __future__ import annotations

from billing.domain.commands import RunInvoicing
from servicekit.bus import MessageBus
from servicekit.clock import Clock


async def invoicing_round(bus: MessageBus, clock: Clock) -> int:
    """One round in one transaction (the ledger as it stands is drawn whole); returns how many were issued."""
    return len(await bus.handle(RunInvoicing(at=clock())))
