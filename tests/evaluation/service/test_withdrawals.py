"""An applicant's withdrawal (WithdrawApplication): the evaluation ends, its panel's assignments end and stop counting
toward the reviewers' load, its round waits for it no more, and nothing more is scored or published for it —
whether the withdrawal comes before the submission, twice, or after the score went out."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from contracts import ApplicationInReview, ApplicationRejected, ApplicationScored, ApplicationWithdrawn, RoundScored
from evaluation.domain.commands import EvaluateApplication, RecheckEligibility, RecheckForOffer, WithdrawApplication
from evaluation.domain.errors import Conflict
from evaluation.domain.model import Status
from evaluation.entrypoints.consumer import TRANSLATIONS
from servicekit.bus import MessageBus
from support.clock import ManualClock

from .fakes import FakeEvaluationUnitOfWork
from .samples import T0, close, in_review, p1, p3, register, review


def withdrawal(application: EvaluateApplication, after: timedelta = timedelta(hours=1)) -> WithdrawApplication:
    return WithdrawApplication(application_id=application.application_id, at=T0 + after, reason="found other GPUs")


async def test_intake_s_withdrawal_becomes_the_command_with_the_event_s_time_and_reason() -> None:
    event = ApplicationWithdrawn(application_id=uuid.uuid4(), reason="plans changed")
    assert TRANSLATIONS[ApplicationWithdrawn](event) == WithdrawApplication(
        application_id=event.application_id, at=event.occurred_at, reason="plans changed")


async def test_a_withdrawn_application_leaves_its_panel_and_its_reviewers_load_drops(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork, clock: ManualClock) -> None:
    application, other = p1(), p1()
    await in_review(bus, application, other)
    load_before = await uow.reviewers.open_load()
    clock.advance(hours=2)
    result = await bus.handle(withdrawal(application))
    assert result.status is uow.evaluations[application.application_id].status is Status.WITHDRAWN
    assignments = await uow.panels.assignments(application_id=application.application_id)
    assert [a.ended_at for a in assignments] == [clock.now] * 3
    assert sorted(load_before.values()) == [2, 2, 2]
    assert sorted((await uow.reviewers.open_load()).values()) == [1, 1, 1]


async def test_the_next_panel_is_chosen_by_the_load_the_withdrawal_left(bus: MessageBus,
                                                                       uow: FakeEvaluationUnitOfWork) -> None:
    first, second, third = p1(), p1(), p1()
    await register(bus, "Ahn", "Baek", "Cho", "Dong")
    await bus.handle(first)  # Ahn, Baek, Cho
    await bus.handle(second)  # Dong, then Ahn and Baek by name: Ahn 2, Baek 2, Cho 1, Dong 1
    await bus.handle(withdrawal(first))  # Ahn 1, Baek 1, Cho 0, Dong 1
    await bus.handle(third)
    panel = await uow.panels.assignments(application_id=third.application_id)
    assert [a.reviewer_name for a in panel] == ["Ahn", "Baek", "Cho"]  # without the withdrawal: Ahn, Cho, Dong


async def test_a_review_of_a_withdrawn_application_is_refused_naming_why_and_nothing_is_scored_or_published(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    application = p1()
    ahn, _, _ = await in_review(bus, application)
    await bus.handle(withdrawal(application))
    published = list(uow.published)
    with pytest.raises(Conflict, match=f"application {application.application_id} is withdrawn"):
        await bus.handle(review(application, ahn, T0 + timedelta(hours=2)))
    assert await uow.panels.reviews(application.application_id) == []
    assert uow.evaluations[application.application_id].score is None
    assert uow.published == published
    assert [type(e) for e in published] == [ApplicationInReview]


async def test_a_round_closed_after_a_withdrawal_reports_without_it_and_decides_nothing_for_it(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    reviewed = p1()
    withdrawn = p1(call_id=reviewed.call_id)
    ahn, _, _ = await in_review(bus, reviewed, withdrawn)
    await bus.handle(review(reviewed, ahn, T0))
    await bus.handle(withdrawal(withdrawn))
    await bus.handle(close(reviewed, withdrawn))
    [report] = uow.outbox.of_type(RoundScored)
    assert (report.scored, report.rejected) == ([reviewed.application_id], [])
    assert [e.application_id for e in uow.outbox.of_type(ApplicationScored)] == [reviewed.application_id]
    assert uow.outbox.of_type(ApplicationRejected) == []
    assert uow.evaluations[withdrawn.application_id].status is Status.WITHDRAWN


async def test_a_round_waiting_for_an_application_that_never_arrived_reports_once_it_is_withdrawn(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork, clock: ManualClock) -> None:
    arrived = p1()
    missing = p1(call_id=arrived.call_id)
    await in_review(bus, arrived)
    closed = close(arrived, missing)
    await bus.handle(closed)
    assert uow.outbox.of_type(RoundScored) == []
    clock.advance(hours=1)
    assert await bus.handle(withdrawal(missing)) is None  # nothing to end yet: kept for its arrival
    [report] = uow.outbox.of_type(RoundScored)
    assert (report.scored, report.rejected) == ([], [arrived.application_id])  # no review came for it
    assert uow.rounds[closed.call_id].scored_at == clock.now


async def test_a_withdrawal_before_the_submission_keeps_the_late_arrival_unannounced_and_without_a_panel(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    await register(bus, "Ahn", "Baek", "Cho")
    panel_candidate, scored_at_once = p1(), p3()
    for application in (panel_candidate, scored_at_once):
        await bus.handle(withdrawal(application))
        result = await bus.handle(application)
        assert result.status is uow.evaluations[application.application_id].status is Status.WITHDRAWN
    assert await uow.panels.assignments() == []
    assert await uow.reviewers.open_load() == {}
    assert uow.published == []  # neither in review nor scored


async def test_a_late_arrival_of_a_withdrawn_application_completes_nothing_twice(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    arrived = p1()
    missing = p1(call_id=arrived.call_id)
    await in_review(bus, arrived)
    await bus.handle(close(arrived, missing))
    await bus.handle(withdrawal(missing))
    published = list(uow.published)
    await bus.handle(missing)  # its submission, re-driven after the withdrawal
    assert uow.evaluations[missing.application_id].status is Status.WITHDRAWN
    assert uow.published == published


async def test_a_withdrawal_delivered_again_or_sent_twice_changes_nothing(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork, clock: ManualClock) -> None:
    application = p1()
    await in_review(bus, application)
    message_id = uuid.uuid4()
    await bus.handle(withdrawal(application), message_id=message_id)
    ended = [a.ended_at for a in await uow.panels.assignments(application_id=application.application_id)]
    clock.advance(days=1)
    assert await bus.handle(withdrawal(application), message_id=message_id) is None  # redelivered: the inbox
    assert await bus.handle(withdrawal(application, after=timedelta(days=1))) is None  # under another event id
    assert [a.ended_at for a in await uow.panels.assignments(application_id=application.application_id)] == ended
    assert uow.withdrawals.rows[application.application_id].at == T0 + timedelta(hours=1)


async def test_a_withdrawal_after_the_score_went_out_takes_nothing_back_and_ends_the_assignments_left(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    application = p1()
    ahn, _, _ = await in_review(bus, application)
    await bus.handle(review(application, ahn, T0))
    await bus.handle(close(application))
    published = list(uow.published)
    assert [type(e) for e in published] == [ApplicationInReview, ApplicationScored, RoundScored]
    await bus.handle(withdrawal(application, after=timedelta(days=2)))
    result = uow.evaluations[application.application_id]
    assert (result.status, result.score) == (Status.WITHDRAWN, 86.0)  # the score it was published with, kept
    assert uow.published == published
    panel = await uow.panels.assignments(application_id=application.application_id)
    assert [(a.reviewer_name, a.reviewed_at is not None, a.ended_at is not None) for a in panel] == [
        ("Ahn", True, False), ("Baek", False, True), ("Cho", False, True)]
    assert await uow.reviewers.open_load() == {}


async def test_a_withdrawn_application_is_not_re_checked_by_an_operator_nor_for_an_offer(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    application = p3()
    await bus.handle(application)
    await bus.handle(withdrawal(application))
    published = list(uow.published)
    with pytest.raises(Conflict, match="is withdrawn already"):
        await bus.handle(RecheckEligibility(application_id=application.application_id, at=T0 + timedelta(days=1)))
    for_offer = RecheckForOffer(application_id=application.application_id, offer_id=uuid.uuid4(), program="P3",
                                at=T0 + timedelta(days=1))
    assert await bus.handle(for_offer) is None  # no answer: allocation drops its hold on the withdrawal itself
    assert uow.published == published
    assert uow.evaluations[application.application_id].rechecks == []
