"""The programs and calls API's request and response bodies."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from contracts.events.common import Program
from intake.domain.calls import CallStatus, IntakeMode
from intake.entrypoints.schemas import In
from servicekit.bounds import Instant, Name


class ProgramOut(BaseModel):
    code: Program
    name: str
    intake_mode: IntakeMode = Field(description="round: calls with a window; rolling: at any time.")


class CallIn(In):
    program: Program
    title: Name
    opens_at: Instant
    closes_at: Instant


class CallOut(BaseModel):
    id: UUID
    program: Program
    title: str
    opens_at: datetime
    closes_at: datetime
    status: CallStatus
    closed_at: datetime | None
