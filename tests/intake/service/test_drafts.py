"""Intake's service layer on the in-memory fakes: a draft's form is its partner's to edit until it is submitted."""
from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from contracts import ApplicationSubmitted
from intake.domain.calls import Call
from intake.domain.commands import CreateApplication, EditDraft, OpenCall, SubmitApplication
from intake.domain.errors import ApplicationNotFound, InvalidInput, InvalidTransition
from intake.domain.model import Application, Status
from servicekit.bus import MessageBus
from support.clock import ManualClock

from .fakes import FakeIntakeUnitOfWork, p1_form, p3_form

PARTNER = UUID("00000000-0000-4000-8000-0000000000d1")
OTHER = UUID("00000000-0000-4000-8000-0000000000d2")


async def a_draft(bus: MessageBus) -> Application:
    draft: Application = await bus.handle(CreateApplication(PARTNER, p3_form(), submit=False))
    return draft


async def test_a_draft_takes_its_new_form_and_stays_a_draft_told_to_nobody(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    draft = await a_draft(bus)
    edited_at = clock.advance(hours=2)
    await bus.handle(EditDraft(draft.id, PARTNER, p3_form(gpus_requested=None, servers_requested=1,
                                                          purpose="a larger model")))
    stored = uow.applications[draft.id]
    assert (stored.status, stored.form.purpose, stored.gpus_requested) == (Status.DRAFT, "a larger model", 8)
    assert (stored.created_at, stored.updated_at, stored.submitted_at) == (draft.created_at, edited_at, None)
    assert uow.applications.statuses(draft.id) == [Status.DRAFT]  # no status change to notify
    assert uow.published == []


async def test_an_edited_draft_is_submitted_with_its_new_form(
        uow: FakeIntakeUnitOfWork, bus: MessageBus) -> None:
    draft = await a_draft(bus)
    await bus.handle(EditDraft(draft.id, PARTNER, p3_form(purpose="edited")))
    await bus.handle(SubmitApplication(draft.id, PARTNER))
    [published] = uow.outbox.of_type(ApplicationSubmitted)
    assert published.purpose == "edited"


async def test_an_edit_may_submit_the_draft_at_once(uow: FakeIntakeUnitOfWork, bus: MessageBus) -> None:
    draft = await a_draft(bus)
    await bus.handle(EditDraft(draft.id, PARTNER, p3_form(purpose="ready"), submit=True))
    assert uow.applications[draft.id].status is Status.SUBMITTED
    assert [e.purpose for e in uow.outbox.of_type(ApplicationSubmitted)] == ["ready"]


async def test_an_edit_breaking_a_rule_is_refused_and_changes_nothing(
        uow: FakeIntakeUnitOfWork, bus: MessageBus) -> None:
    draft = await a_draft(bus)
    with pytest.raises(InvalidInput) as refused:
        await bus.handle(EditDraft(draft.id, PARTNER, p3_form(acceptable_window_months=5)))
    assert refused.value.field == "acceptable_window_months"
    assert uow.applications[draft.id].form == draft.form
    assert uow.published == []


async def test_a_draft_may_name_a_call_not_open_yet_as_a_new_draft_may(
        uow: FakeIntakeUnitOfWork, bus: MessageBus, clock: ManualClock) -> None:
    later: Call = await bus.handle(OpenCall("P1", "next round", clock.now + timedelta(days=3),
                                            clock.now + timedelta(days=10)))
    draft = await a_draft(bus)
    await bus.handle(EditDraft(draft.id, PARTNER, p1_form(later.id)))
    assert (uow.applications[draft.id].program, uow.applications[draft.id].call_id) == ("P1", later.id)
    with pytest.raises(InvalidInput) as refused:  # submitted now, the call's window is checked
        await bus.handle(EditDraft(draft.id, PARTNER, p1_form(later.id), submit=True))
    assert refused.value.field == "call_id"
    assert uow.applications[draft.id].status is Status.DRAFT


async def test_a_submitted_application_cannot_be_edited(uow: FakeIntakeUnitOfWork, bus: MessageBus) -> None:
    submitted: Application = await bus.handle(CreateApplication(PARTNER, p3_form()))
    with pytest.raises(InvalidTransition, match="only a draft can be edited"):
        await bus.handle(EditDraft(submitted.id, PARTNER, p3_form(purpose="changed my mind")))
    assert uow.applications[submitted.id].form == submitted.form
    assert len(uow.outbox.of_type(ApplicationSubmitted)) == 1


async def test_another_partners_draft_is_not_found(uow: FakeIntakeUnitOfWork, bus: MessageBus) -> None:
    draft = await a_draft(bus)
    with pytest.raises(ApplicationNotFound):
        await bus.handle(EditDraft(draft.id, OTHER, p3_form(purpose="hijacked")))
    assert uow.applications[draft.id].form == draft.form
