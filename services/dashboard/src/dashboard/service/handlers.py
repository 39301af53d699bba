"""The dashboard's handlers; the HANDLERS map at the bottom is the service's table of contents."""
from __future__ import annotations

from dashboard.domain.commands import MarkRedriven, RecordDeadLetters, RecordEvent
from dashboard.domain.errors import DeadLetterNotFound
from dashboard.domain.model import ApplicationView
from dashboard.service.unit_of_work import DashboardUnitOfWork
from dashboard.service.views import keep_view
from servicekit.bus import Handlers
from servicekit.clock import Clock


async def record_event(cmd: RecordEvent, uow: DashboardUnitOfWork) -> None:
    """Keep the event, what it tells the views, and move its application along the funnel."""
    record = cmd.record
    if not await uow.events.add(record):
        return
    await keep_view(cmd.view, uow)
    if record.application_id is None:
        return
    view = await uow.applications.get(record.application_id, for_update=True)
    if view is None:
        stage = record.stage
        if stage is None:
            return  # an event about an application never submitted here (its submission not read yet)
        view = ApplicationView(record.application_id, stage, record.occurred_at)
    if view.follow(record) or view.stage is record.stage:
        await uow.applications.put(view)


async def record_dead_letters(cmd: RecordDeadLetters, uow: DashboardUnitOfWork) -> int:
    """Keep the parked records read from a dead-letter topic; one read again is left as it is (re-driven or not)."""
    return await uow.dead_letters.add(cmd.letters)


async def mark_redriven(cmd: MarkRedriven, uow: DashboardUnitOfWork, clock: Clock) -> None:
    """An operator sent the parked record back to its topic (through its service's re-drive): say so, and when."""
    if not await uow.dead_letters.mark_redriven(cmd.topic, cmd.partition, cmd.offset, at=clock(), by=cmd.by):
        raise DeadLetterNotFound(f"no parked record has been read at {cmd.topic}/{cmd.partition}/{cmd.offset}")


HANDLERS: Handlers = {
    RecordEvent: record_event,
    RecordDeadLetters: record_dead_letters,
    MarkRedriven: mark_redriven,
}
