"""The operators' reads: the event stream (a page, or live as Server-Sent Events), an application's story, and
the funnel per program and call."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse

from dashboard.adapters.repository import EventFilter
from dashboard.adapters.unit_of_work import SqlDashboardUnitOfWork
from dashboard.config import Settings
from dashboard.domain.errors import ApplicationNotFound
from dashboard.domain.model import Stage
from dashboard.entrypoints.deps import Uow
from dashboard.entrypoints.schemas import (
    MAX_PAGE,
    EventOut,
    EventsPage,
    FunnelOut,
    StageCount,
    StoryOut,
    event_filter,
)
from servicekit.auth import AUTH_RESPONSES, OPERATOR_ONLY, authenticated
from servicekit.bounds import INT64_MAX
from servicekit.http import PROBLEM_RESPONSES
from servicekit.runtime import Now, runtime_of

router = APIRouter(responses={**PROBLEM_RESPONSES, **AUTH_RESPONSES},
                   dependencies=[Depends(authenticated), OPERATOR_ONLY])
Filter = Annotated[EventFilter, Depends(event_filter)]
STREAM_MEDIA_TYPE = "text/event-stream"


@router.get("/events", response_model=EventsPage, tags=["events"],
            summary="The platform's events, newest first, filtered by program, call, application, CSP or type")
async def events(where: Filter, uow: Uow, before: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
                 limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100) -> EventsPage:
    rows = await uow.events.page(where, before=before, after=None, limit=limit)
    return EventsPage(items=[EventOut(**row) for row in rows],
                      next_before=rows[-1]["seq"] if len(rows) == limit else None)


@router.get("/events/stream", tags=["events"], response_class=StreamingResponse,
            summary="The platform's events as they are read, live (Server-Sent Events)",
            description="Each event is a `platform-event` message whose `id` is its `seq`: a browser's EventSource "
                        "resumes after the last one it saw (`Last-Event-ID`), or from `after`; by default from "
                        "now on. A comment line keeps an idle connection open.",
            responses={200: {"content": {STREAM_MEDIA_TYPE: {}}}})
async def stream(request: Request, where: Filter, after: Annotated[int | None, Query(ge=0, le=INT64_MAX)] = None,
                 last_event_id: Annotated[str | None, Header(max_length=19, pattern=r"^[0-9]*$")] = None,
                 ) -> StreamingResponse:
    runtime = runtime_of(request.app)
    start = int(last_event_id) if last_event_id else after
    if start is not None and start > INT64_MAX:
        raise RequestValidationError([{"type": "less_than_equal", "loc": ("header", "last-event-id"),
                                       "msg": f"Input should be less than or equal to {INT64_MAX}",
                                       "input": last_event_id, "ctx": {"le": INT64_MAX}}])
    if start is None:
        async with runtime.uow_factory() as uow:
            start = await cast(SqlDashboardUnitOfWork, uow).events.last_seq()
    return StreamingResponse(_follow(request, where, start), media_type=STREAM_MEDIA_TYPE,
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _follow(request: Request, where: EventFilter, seq: int) -> AsyncIterator[str]:
    """New events after `seq` as they are read, until the client goes; each look in a unit of work of its own, so
    that no connection to the database is held while the stream waits."""
    runtime = runtime_of(request.app)
    stream_settings = cast(Settings, runtime.settings).stream
    idle = 0.0
    yield "retry: 2000\n\n"
    while not await request.is_disconnected():
        async with runtime.uow_factory() as uow:
            rows = await cast(SqlDashboardUnitOfWork, uow).events.page(where, before=None, after=seq,
                                                                        limit=stream_settings.batch)
        for row in rows:
            seq = row["seq"]
            body = EventOut(**row).model_dump_json()
            yield f"id: {seq}\nevent: platform-event\ndata: {body}\n\n"
        if rows:
            idle = 0.0
            continue
        await asyncio.sleep(stream_settings.poll_interval_s)
        idle += stream_settings.poll_interval_s
        if idle >= stream_settings.keepalive_s:
            idle = 0.0
            yield ": keep-alive\n\n"


@router.get("/applications/{application_id}/story", response_model=StoryOut, tags=["applications"],
            summary="An application's whole story: every event of it, in the order they happened")
async def story(application_id: UUID, uow: Uow, now: Now) -> StoryOut:
    rows = await uow.events.story(application_id)
    if not rows:
        raise ApplicationNotFound(f"no event of application {application_id} has been read")
    view = await uow.applications.get(application_id)
    return StoryOut(application_id=application_id, stage=view.stage_at(now()).label if view else None,
                    events=[EventOut(**row) for row in rows])


@router.get("/funnel", response_model=list[FunnelOut], tags=["funnel"],
            summary="The funnel per program and call: submitted → scored → selected / waitlisted / rejected → "
                    "active → reclaimed / completed (and withdrawn), with applications and GPUs at each stage")
async def funnel(uow: Uow, now: Now, program: Annotated[str | None, Query(max_length=8)] = None,
                 call_id: UUID | None = None) -> list[FunnelOut]:
    rows = await uow.applications.funnel(program=program, call_id=call_id, now=now())
    groups: dict[tuple[str | None, UUID | None], dict[Stage, StageCount]] = {}
    for row in rows:
        groups.setdefault((row.program, row.call_id), {})[row.stage] = StageCount(
            stage=row.stage.label, applications=row.applications, gpus=row.gpus)
    return [FunnelOut(program=p, call_id=c, stages=[counts.get(s, StageCount(stage=s.label, applications=0, gpus=0))
                                                    for s in Stage])
            for (p, c), counts in groups.items()]

