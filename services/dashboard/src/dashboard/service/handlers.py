"""The dashboard's handlers; the HANDLERS map at the bottom is the service's table of contents."""
from __future__ import annotations

from dashboard.domain.commands import RecordEvent
from dashboard.domain.model import ApplicationView
from dashboard.service.unit_of_work import DashboardUnitOfWork
from servicekit.bus import Handlers


async def record_event(cmd: RecordEvent, uow: DashboardUnitOfWork) -> None:
    """Keep the event, and move its application along the funnel."""
    record = cmd.record
    if not await uow.events.add(record) or record.application_id is None:
        return
    view = await uow.applications.get(record.application_id, for_update=True)
    if view is None:
        stage = record.stage
        if stage is None:
            return  # an event about an application never submitted here (its submission not read yet)
        view = ApplicationView(record.application_id, stage, record.occurred_at)
    if view.follow(record) or view.stage is record.stage:
        await uow.applications.put(view)


HANDLERS: Handlers = {
    RecordEvent: record_event,
}
