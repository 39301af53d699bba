"""Intake's service layer on the in-memory fakes: applications created, submitted and withdrawn by their partner."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from contracts import ApplicationSubmitted, ApplicationWithdrawn
from intake.domain.calls import Call
from intake.domain.commands import (
    AcceptOffer,
    CreateApplication,
    DeclineOffer,
    OpenCall,
    SubmitApplication,
    WithdrawApplication,
)
from intake.domain.errors import ApplicationNotFound, InvalidInput, InvalidTransition
from intake.domain.model import Application, Status
from support.clock import ManualClock

from .fakes import PROGRAMS, FakeIntakeUnitOfWork, intake_bus, p1_form, p3_form

PARTNER = UUID("00000000-0000-4000-8000-00000000000a")


async def a_round(uow: FakeIntakeUnitOfWork, clock: ManualClock, *, days: int = 7) -> UUID:
    """A P1 call that opened an hour ago and runs `days` days."""
    call: Call = await intake_bus(uow, clock).handle(OpenCall("P1", "P1 round", clock.now - timedelta(hours=1),
                                                              clock.now + timedelta(days=days)))
    return call.id


async def test_a_submitted_application_is_stored_and_published_with_the_gpus_it_asks_for(
        uow: FakeIntakeUnitOfWork, clock: ManualClock) -> None:
    app: Application = await intake_bus(uow, clock).handle(CreateApplication(PARTNER, p3_form()))
    stored = uow.applications[app.id]
    assert (stored.status, stored.submitted_at, stored.partner_id) == (Status.SUBMITTED, clock.now, PARTNER)
    assert uow.applications.statuses(app.id) == [Status.SUBMITTED]
    [published] = uow.outbox.of_type(ApplicationSubmitted)
    assert (published.application_id, published.partner_id, published.program, published.gpus_requested) == (
        app.id, PARTNER, "P3", 4)
    assert uow.commits == 1


async def test_a_request_in_servers_is_published_in_gpus(uow: FakeIntakeUnitOfWork, clock: ManualClock) -> None:
    form = p3_form(gpus_requested=None, servers_requested=2)
    await intake_bus(uow, clock).handle(CreateApplication(PARTNER, form))
    [published] = uow.outbox.of_type(ApplicationSubmitted)
    assert (published.servers_requested, published.gpus_requested) == (2, 16)


async def test_a_draft_is_stored_but_nobody_else_hears_of_it(uow: FakeIntakeUnitOfWork, clock: ManualClock) -> None:
    app: Application = await intake_bus(uow, clock).handle(CreateApplication(PARTNER, p3_form(), submit=False))
    assert (uow.applications[app.id].status, uow.applications[app.id].submitted_at) == (Status.DRAFT, None)
    assert (uow.published, uow.commits) == ([], 1)


async def test_a_form_that_breaks_rules_is_refused_naming_each_field_and_nothing_is_stored(
        uow: FakeIntakeUnitOfWork, clock: ManualClock) -> None:
    form = p3_form(servers_requested=1, period_end=clock.now.date() - timedelta(days=1))
    with pytest.raises(InvalidInput) as refused:
        await intake_bus(uow, clock).handle(CreateApplication(PARTNER, form))
    assert [field for field, _ in refused.value.problems] == ["period_end", "servers_requested"]
    assert (len(uow.applications), uow.published, uow.commits) == (0, [], 0)


async def test_an_application_to_a_program_intake_does_not_run_is_refused(clock: ManualClock) -> None:
    uow = FakeIntakeUnitOfWork(programs=[p for p in PROGRAMS if p.code != "P3"])
    with pytest.raises(InvalidInput) as refused:
        await intake_bus(uow, clock).handle(CreateApplication(PARTNER, p3_form()))
    assert refused.value.field == "program"
    assert len(uow.applications) == 0


async def test_a_round_takes_applications_while_its_call_is_open_and_refuses_them_after(
        uow: FakeIntakeUnitOfWork, clock: ManualClock) -> None:
    call_id = await a_round(uow, clock, days=7)
    bus = intake_bus(uow, clock)
    in_time: Application = await bus.handle(CreateApplication(PARTNER, p1_form(call_id)))
    clock.advance(days=7)
    with pytest.raises(InvalidInput) as late:
        await bus.handle(CreateApplication(PARTNER, p1_form(call_id)))
    assert uow.applications[in_time.id].status is Status.SUBMITTED
    assert late.value.field == "call_id"
    assert len(uow.applications) == 1 and len(uow.outbox.of_type(ApplicationSubmitted)) == 1


async def test_a_draft_submitted_later_is_submitted_and_published_then(
        uow: FakeIntakeUnitOfWork, clock: ManualClock) -> None:
    bus = intake_bus(uow, clock)
    draft: Application = await bus.handle(CreateApplication(PARTNER, p3_form(), submit=False))
    submitted_at = clock.advance(hours=5)
    await bus.handle(SubmitApplication(draft.id, PARTNER))
    stored = uow.applications[draft.id]
    assert (stored.status, stored.created_at, stored.submitted_at) == (
        Status.SUBMITTED, submitted_at - timedelta(hours=5), submitted_at)
    assert uow.applications.statuses(draft.id) == [Status.DRAFT, Status.SUBMITTED]
    assert [e.application_id for e in uow.outbox.of_type(ApplicationSubmitted)] == [draft.id]


async def test_a_draft_cannot_be_submitted_once_its_call_has_closed(
        uow: FakeIntakeUnitOfWork, clock: ManualClock) -> None:
    call_id = await a_round(uow, clock, days=1)
    bus = intake_bus(uow, clock)
    draft: Application = await bus.handle(CreateApplication(PARTNER, p1_form(call_id), submit=False))
    clock.advance(days=2)
    with pytest.raises(InvalidInput) as refused:
        await bus.handle(SubmitApplication(draft.id, PARTNER))
    assert refused.value.field == "call_id"
    assert uow.applications[draft.id].status is Status.DRAFT
    assert uow.published == []


async def test_an_application_is_submitted_once(uow: FakeIntakeUnitOfWork, clock: ManualClock) -> None:
    bus = intake_bus(uow, clock)
    app: Application = await bus.handle(CreateApplication(PARTNER, p3_form()))
    with pytest.raises(InvalidTransition):
        await bus.handle(SubmitApplication(app.id, PARTNER))
    assert len(uow.outbox.of_type(ApplicationSubmitted)) == 1


@pytest.mark.parametrize("command", [
    lambda app_id, partner: SubmitApplication(app_id, partner),
    lambda app_id, partner: WithdrawApplication(app_id, partner, "not mine"),
    lambda app_id, partner: AcceptOffer(app_id, partner),
    lambda app_id, partner: DeclineOffer(app_id, partner, "not mine"),
], ids=["submit", "withdraw", "accept an offer", "decline an offer"])
async def test_another_partners_application_is_as_good_as_missing(
        uow: FakeIntakeUnitOfWork, clock: ManualClock, command: Callable[[UUID, UUID], object]) -> None:
    bus = intake_bus(uow, clock)
    draft: Application = await bus.handle(CreateApplication(PARTNER, p3_form(), submit=False))
    with pytest.raises(ApplicationNotFound):
        await bus.handle(command(draft.id, uuid4()))
    with pytest.raises(ApplicationNotFound):
        await bus.handle(command(uuid4(), PARTNER))
    assert uow.applications[draft.id].status is Status.DRAFT


async def test_withdrawing_a_submitted_application_tells_the_other_services_why(
        uow: FakeIntakeUnitOfWork, clock: ManualClock) -> None:
    bus = intake_bus(uow, clock)
    app: Application = await bus.handle(CreateApplication(PARTNER, p3_form()))
    withdrawn_at = clock.advance(days=1)
    await bus.handle(WithdrawApplication(app.id, PARTNER, "changed plans"))
    stored = uow.applications[app.id]
    assert (stored.status, stored.status_reason, stored.updated_at) == (Status.WITHDRAWN, "changed plans",
                                                                         withdrawn_at)
    [withdrawal] = uow.outbox.of_type(ApplicationWithdrawn)
    assert (withdrawal.application_id, withdrawal.reason) == (app.id, "changed plans")


async def test_withdrawing_a_draft_tells_nobody_since_nobody_knew_it(
        uow: FakeIntakeUnitOfWork, clock: ManualClock) -> None:
    bus = intake_bus(uow, clock)
    draft: Application = await bus.handle(CreateApplication(PARTNER, p3_form(), submit=False))
    await bus.handle(WithdrawApplication(draft.id, PARTNER, "never mind"))
    assert uow.applications[draft.id].status is Status.WITHDRAWN
    assert (uow.published, uow.commits) == ([], 2)


async def test_a_withdrawn_application_cannot_be_withdrawn_again(
        uow: FakeIntakeUnitOfWork, clock: ManualClock) -> None:
    bus = intake_bus(uow, clock)
    app: Application = await bus.handle(CreateApplication(PARTNER, p3_form()))
    await bus.handle(WithdrawApplication(app.id, PARTNER, "changed plans"))
    with pytest.raises(InvalidTransition):
        await bus.handle(WithdrawApplication(app.id, PARTNER, "again"))
    assert len(uow.outbox.of_type(ApplicationWithdrawn)) == 1
    assert uow.applications.statuses(app.id) == [Status.SUBMITTED, Status.WITHDRAWN]
