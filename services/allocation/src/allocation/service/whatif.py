"""The policy what-if of a selected round: its kept input replayed under each variant, nothing changed or published.

The solves run in a worker thread (as selection's do), so a 10,000-application round keeps the event loop free.
"""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from uuid import UUID

from allocation.domain.comparison import WhatIf, what_if
from allocation.domain.errors import NotFound, NotReplayable
from allocation.domain.policy import Policy
from allocation.domain.whatif import Variant
from allocation.service.unit_of_work import AllocationUnitOfWork


async def replay_round(call_id: UUID, variants: Sequence[Variant], uow: AllocationUnitOfWork,
                       policy: Policy) -> WhatIf:
    """Reads only: the round, its kept input and its decisions; the unit of work is never committed."""
    found = await uow.rounds.get(call_id)
    if found is None:
        raise NotFound(f"no round for call {call_id}")
    if found.status != "selected":
        raise NotReplayable(f"round {call_id} is not selected yet: there is nothing to compare with")
    kept = await uow.rounds.input_of(call_id)
    if kept is None:
        raise NotReplayable(f"round {call_id} was selected before rounds kept their input; it cannot be replayed")
    item, decisions = kept
    return await asyncio.to_thread(what_if, item, decisions, variants, exact_limit=policy.exact_limit,
                                   time_limit_s=policy.time_limit_s)
