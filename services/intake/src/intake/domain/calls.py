"""Programs and their calls: P1 and P2 take applications in rounds (a call with a window), P3 at any time.

Closing a round hands its applications to evaluation and allocation.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from intake.domain.errors import InvalidInput, InvalidTransition, Problem
from intake.domain.forms import Form
from intake.domain.types import ProgramCode


class IntakeMode(StrEnum):
    ROUND = "round"
    ROLLING = "rolling"


class CallStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Program:
    code: ProgramCode
    name: str
    intake_mode: IntakeMode


@dataclass
class Call:
    id: UUID
    program: ProgramCode
    title: str
    opens_at: datetime
    closes_at: datetime
    status: CallStatus = CallStatus.OPEN
    closed_at: datetime | None = None

    def refusal(self, at: datetime) -> str | None:
        """Why the call does not take a submission at `at`, or None when it does."""
        if self.status is CallStatus.CLOSED:
            return f"call {self.id} was closed at {self.closed_at}"
        if at < self.opens_at:
            return f"call {self.id} opens at {self.opens_at}"
        if at >= self.closes_at:
            return f"call {self.id} closed at {self.closes_at}"
        return None

    def is_due(self, at: datetime) -> bool:
        """Still open at `at` though its window has ended: the worker closes it as an operator would."""
        return self.status is CallStatus.OPEN and at >= self.closes_at

    def close(self, at: datetime) -> None:
        if self.status is CallStatus.CLOSED:
            raise InvalidTransition(f"call {self.id} was already closed at {self.closed_at}")
        self.status, self.closed_at = CallStatus.CLOSED, at


def open_call(call_id: UUID, program: Program, title: str, opens_at: datetime, closes_at: datetime) -> Call:
    """A new call of a round program; a rolling program has none."""
    problems: list[Problem] = []
    if program.intake_mode is IntakeMode.ROLLING:
        problems.append(("program", f"{program.code} takes applications at any time (rolling): it has no calls"))
    if closes_at <= opens_at:
        problems.append(("closes_at", "must be after opens_at"))
    if problems:
        raise InvalidInput(*problems)
    return Call(call_id, program.code, title, opens_at, closes_at)


def call_problems(form: Form, program: Program, call: Call | None, at: datetime | None) -> list[Problem]:
    """The call a form names: none for rolling intake; for a round, a call of its program, open at `at` if given.

    `call` is the call the form names, as found (None when there is no such call).
    """
    if program.intake_mode is IntakeMode.ROLLING:
        return [("call_id", f"{program.code} takes applications at any time: name no call")] if form.call_id else []
    if form.call_id is None:
        return [("call_id", f"{program.code} takes applications in rounds: name an open call")]
    if call is None or call.program != program.code:
        return [("call_id", f"there is no {program.code} call {form.call_id}")]
    refusal = call.refusal(at) if at is not None else None
    return [("call_id", refusal)] if refusal else []
