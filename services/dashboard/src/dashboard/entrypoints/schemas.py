"""The dashboard API's answers and the filters it takes."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel, Field

from dashboard.adapters.repository import EventFilter
from servicekit.bounds import Line

MAX_PAGE = 500


class EventOut(BaseModel):
    seq: int = Field(description="The order the dashboard read it in; the stream resumes after it.")
    event_id: UUID
    type: str
    topic: str
    subject: str
    occurred_at: datetime
    application_id: UUID | None
    program: str | None
    call_id: UUID | None
    csps: list[str]
    payload: dict[str, Any]


class EventsPage(BaseModel):
    items: list[EventOut]
    next_before: int | None = Field(description="Pass as `before` for the next (older) page; null at the end.")


class StoryOut(BaseModel):
    application_id: UUID
    stage: str | None = Field(description="Where it stands in the funnel, as far as the events read tell.")
    events: list[EventOut] = Field(description="Its events, in the order they happened.")


class StageCount(BaseModel):
    stage: str
    applications: int
    gpus: int


class FunnelOut(BaseModel):
    program: str | None
    call_id: UUID | None
    stages: list[StageCount] = Field(description="Every stage of the funnel in order, counted (0 where none).")


def event_filter(program: Annotated[Line | None, Query(max_length=8)] = None,
                 call_id: UUID | None = None, application_id: UUID | None = None,
                 csp: Annotated[Line | None, Query(max_length=255)] = None,
                 type: Annotated[Line | None, Query(max_length=120, description="A type, or its prefix "
                                                                            "(`telemetry.`)")] = None,
                 ) -> EventFilter:
    return EventFilter(program=program, call_id=call_id, application_id=application_id, csp=csp, type=type)
