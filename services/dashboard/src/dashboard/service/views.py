"""What each event tells the views (balance, demand, occupancy, the reclaim ladder, the CSPs' alerts), kept in their
tables by record_event in the same transaction as the event: once, since an event read again stops there."""
from __future__ import annotations

from dashboard.domain.views import Grant, LadderStep, Profile, Reclaim, RoundResult, ViewUpdate
from dashboard.service.unit_of_work import DashboardUnitOfWork


async def keep_view(update: ViewUpdate | None, uow: DashboardUnitOfWork) -> None:
    """Each write merges, or keeps one row per event, so the order events are read in changes nothing."""
    if update is None:
        return
    if isinstance(update, Profile):
        await uow.profiles.merge(update)
    elif isinstance(update, Grant):
        await uow.allocations.grant(update)
    elif isinstance(update, Reclaim):
        await uow.allocations.reclaim(update)
    elif isinstance(update, RoundResult):
        await uow.rounds.put(update)
    elif isinstance(update, LadderStep):
        await uow.ladder.add(update)
    else:
        await uow.stale_alerts.add(update)
