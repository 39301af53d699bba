"""Intake's service layer on the in-memory fakes: operators open a round program's calls and close them, handing
their applications on to evaluation and allocation."""
from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from contracts import CallClosed
from intake.domain.calls import Call, CallStatus
from intake.domain.commands import (
    CloseCall,
    CloseDueCalls,
    CreateApplication,
    OpenCall,
    SubmitApplication,
    WithdrawApplication,
)
from intake.domain.errors import CallNotFound, InvalidInput, InvalidTransition
from intake.domain.model import Application
from intake.domain.types import ProgramCode
from servicekit.bus import MessageBus
from support.clock import ManualClock

from .fakes import FakeIntakeUnitOfWork, p1_form, p2_form

PARTNER = UUID("00000000-0000-4000-8000-00000000000c")


def a_week_from_now(clock: ManualClock, program: ProgramCode = "P1") -> OpenCall:
    return OpenCall(program, f"{program} round", clock.now, clock.now + timedelta(days=7))


async def test_an_operator_opens_a_round_of_a_round_program(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    call: Call = await bus.handle(a_week_from_now(clock, "P2"))
    stored = uow.calls[call.id]
    assert (stored.program, stored.title, stored.status, stored.closed_at) == ("P2", "P2 round", CallStatus.OPEN,
                                                                               None)
    assert (stored.opens_at, stored.closes_at) == (clock.now, clock.now + timedelta(days=7))
    assert (uow.published, uow.commits) == ([], 1)


async def test_a_rolling_program_has_no_calls(uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    with pytest.raises(InvalidInput) as refused:
        await bus.handle(a_week_from_now(clock, "P3"))
    assert refused.value.field == "program"
    assert uow.calls.rows == {}


async def test_a_call_closes_after_it_opens(uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    with pytest.raises(InvalidInput) as refused:
        await bus.handle(OpenCall("P1", "P1 round", clock.now, clock.now))
    assert refused.value.field == "closes_at"
    assert uow.calls.rows == {}


async def test_closing_a_call_hands_on_its_submitted_applications_oldest_first(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    call: Call = await bus.handle(a_week_from_now(clock, "P2"))

    async def apply(*, submit: bool = True) -> UUID:
        clock.advance(hours=1)
        app: Application = await bus.handle(CreateApplication(PARTNER, p2_form(call.id), submit=submit))
        return app.id

    first, drafted_early, second, still_a_draft, withdrawn = (
        await apply(), await apply(submit=False), await apply(), await apply(submit=False), await apply())
    clock.advance(hours=1)
    await bus.handle(SubmitApplication(drafted_early, PARTNER))  # submitted last, though created second
    await bus.handle(WithdrawApplication(withdrawn, PARTNER, "changed plans"))
    closed_at = clock.advance(days=1)  # closed early, by hand
    await bus.handle(CloseCall(call.id))
    assert (uow.calls[call.id].status, uow.calls[call.id].closed_at) == (CallStatus.CLOSED, closed_at)
    [closed] = uow.outbox.of_type(CallClosed)
    assert (closed.call_id, closed.program) == (call.id, "P2")
    assert closed.application_ids == [first, second, drafted_early]
    assert still_a_draft not in closed.application_ids
    assert (closed.opens_at, closed.closes_at) == (call.opens_at, call.closes_at)


async def test_a_closed_call_takes_no_more_applications(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    call: Call = await bus.handle(a_week_from_now(clock))
    await bus.handle(CloseCall(call.id))
    with pytest.raises(InvalidInput) as refused:
        await bus.handle(CreateApplication(PARTNER, p1_form(call.id)))
    assert refused.value.field == "call_id"
    assert "was closed" in refused.value.problems[0][1]
    assert len(uow.applications) == 0


async def test_a_call_is_closed_once(uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    call: Call = await bus.handle(a_week_from_now(clock))
    await bus.handle(CloseCall(call.id))
    first_closed_at = uow.calls[call.id].closed_at
    clock.advance(hours=1)
    with pytest.raises(InvalidTransition):
        await bus.handle(CloseCall(call.id))
    assert uow.calls[call.id].closed_at == first_closed_at
    assert len(uow.outbox.of_type(CallClosed)) == 1


async def test_an_unknown_call_cannot_be_closed(uow: FakeIntakeUnitOfWork, bus: MessageBus) -> None:
    with pytest.raises(CallNotFound):
        await bus.handle(CloseCall(uuid4()))
    assert uow.published == []


async def test_a_call_past_its_closes_at_is_closed_by_the_worker_as_by_an_operator(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    call: Call = await bus.handle(a_week_from_now(clock, "P2"))
    submitted: Application = await bus.handle(CreateApplication(PARTNER, p2_form(call.id)))
    clock.advance(days=7, seconds=-1)
    assert await bus.handle(CloseDueCalls(now=clock.now)) == 0  # a second before the window ends: still open
    assert uow.calls[call.id].status is CallStatus.OPEN
    closed_at = clock.advance(seconds=30)
    assert await bus.handle(CloseDueCalls(now=clock.now)) == 1
    assert (uow.calls[call.id].status, uow.calls[call.id].closed_at) == (CallStatus.CLOSED, closed_at)
    [closed] = uow.outbox.of_type(CallClosed)
    assert (closed.call_id, closed.program, closed.application_ids) == (call.id, "P2", [submitted.id])
    assert (closed.opens_at, closed.closes_at) == (call.opens_at, call.closes_at)


async def test_closing_due_calls_twice_closes_and_publishes_once(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    due, later = await bus.handle(a_week_from_now(clock)), await bus.handle(
        OpenCall("P1", "a longer round", clock.now, clock.now + timedelta(days=30)))
    clock.advance(days=8)
    assert await bus.handle(CloseDueCalls(now=clock.now)) == 1
    clock.advance(hours=1)
    assert await bus.handle(CloseDueCalls(now=clock.now)) == 0
    assert [e.call_id for e in uow.outbox.of_type(CallClosed)] == [due.id]
    assert uow.calls[later.id].status is CallStatus.OPEN


async def test_a_call_an_operator_closed_early_is_not_closed_again_when_its_window_ends(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    call: Call = await bus.handle(a_week_from_now(clock))
    early = clock.advance(days=2)
    await bus.handle(CloseCall(call.id))
    clock.advance(days=6)
    assert await bus.handle(CloseDueCalls(now=clock.now)) == 0
    assert uow.calls[call.id].closed_at == early
    assert len(uow.outbox.of_type(CallClosed)) == 1
