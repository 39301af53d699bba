"""The dashboard's handlers; the HANDLERS map at the bottom is the service's table of contents."""
from __future__ import annotations

from uuid import UUID

from dashboard.domain.commands import MarkRedriven, RecordDeadLetters, RecordEvent, RecordEvents
from dashboard.domain.errors import DeadLetterNotFound
from dashboard.domain.model import ApplicationView
from dashboard.service.unit_of_work import DashboardUnitOfWork
from dashboard.service.views import keep_views
from servicekit.bus import Handlers
from servicekit.clock import Clock


async def record_event(cmd: RecordEvent, uow: DashboardUnitOfWork) -> None:
    """Keep the event, what it tells the views, and move its application along the funnel."""
    await record_events(RecordEvents((cmd,)), uow)


async def record_events(cmd: RecordEvents, uow: DashboardUnitOfWork) -> None:
    """Keep the events not kept yet, what each tells the views, and move their applications along the funnel, in
    the order read: one statement keeps the events, one reads their applications and one writes those that moved."""
    kept = await uow.events.add_many([c.record for c in cmd.commands])
    fresh = [c for c in cmd.commands if c.record.event_id in kept]
    await keep_views([c.view for c in fresh], uow)
    records = [c.record for c in fresh if c.record.application_id is not None]
    if not records:
        return
    views = await uow.applications.get_many({r.application_id for r in records if r.application_id}, for_update=True)
    moved: dict[UUID, ApplicationView] = {}
    for record in records:
        assert record.application_id is not None
        view = views.get(record.application_id)
        if view is None:
            stage = record.stage
            if stage is None:
                continue  # an event about an application never submitted here (its submission not read yet)
            view = views[record.application_id] = ApplicationView(record.application_id, stage, record.occurred_at)
            moved[record.application_id] = view
        if view.follow(record) or view.stage is record.stage:
            moved[record.application_id] = view
    await uow.applications.put_many(list(moved.values()))


async def record_dead_letters(cmd: RecordDeadLetters, uow: DashboardUnitOfWork) -> int:
    """Keep the parked records read from a dead-letter topic; one read again is left as it is (re-driven or not)."""
    return await uow.dead_letters.add(cmd.letters)


async def mark_redriven(cmd: MarkRedriven, uow: DashboardUnitOfWork, clock: Clock) -> None:
    """An operator sent the parked record back to its topic (through its service's re-drive): say so, and when."""
    if not await uow.dead_letters.mark_redriven(cmd.topic, cmd.partition, cmd.offset, at=clock(), by=cmd.by):
        raise DeadLetterNotFound(f"no parked record has been read at {cmd.topic}/{cmd.partition}/{cmd.offset}")


HANDLERS: Handlers = {
    RecordEvent: record_event,
    RecordEvents: record_events,
    RecordDeadLetters: record_dead_letters,
    MarkRedriven: mark_redriven,
}
