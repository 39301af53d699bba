"""What each event tells the views (balance, demand, occupancy, the reclaim ladder, the CSPs' alerts), kept in their
tables by record_events in the same transaction as the events: once, since an event read again stops there."""
from __future__ import annotations

from collections.abc import Sequence

from dashboard.domain.views import Grant, LadderStep, Profile, Reclaim, RoundResult, StaleAlert, ViewUpdate
from dashboard.service.unit_of_work import DashboardUnitOfWork


async def keep_views(updates: Sequence[ViewUpdate | None], uow: DashboardUnitOfWork) -> None:
    """Each write merges, or keeps one row per event, so the order events are read in changes nothing; the updates
    of events read together are written a kind at a time, a statement or two each."""
    await uow.profiles.merge_many([u for u in updates if isinstance(u, Profile)])
    await uow.allocations.merge_many([u for u in updates if isinstance(u, Grant | Reclaim)])
    await uow.rounds.put_many([u for u in updates if isinstance(u, RoundResult)])
    await uow.ladder.add_many([u for u in updates if isinstance(u, LadderStep)])
    for alert in (u for u in updates if isinstance(u, StaleAlert)):
        await uow.stale_alerts.add(alert)
