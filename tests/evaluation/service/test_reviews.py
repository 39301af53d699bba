"""Reviewers join the pool (RegisterReviewer), which gives waiting applications their panels, and panel members
submit their reviews (SubmitReview)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from contracts import ApplicationInReview
from evaluation.domain.commands import RegisterReviewer
from evaluation.domain.errors import Conflict, Forbidden, InvalidInput
from evaluation.domain.model import Status
from servicekit.bus import MessageBus
from support.clock import ManualClock

from .fakes import FakeEvaluationUnitOfWork
from .samples import SCORES, T0, close, in_review, p1, register, review


async def test_a_panel_members_review_is_recorded_and_gives_the_score_so_far(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    application = p1()
    ahn, _, _ = await in_review(bus, application)
    published = list(uow.published)
    at = T0 + timedelta(hours=3)
    result = await bus.handle(review(application, ahn, at))
    assert (result.status, result.reviews_received, result.score) == (Status.IN_REVIEW, 1, 80 + 6)
    stored = uow.evaluations[application.application_id]
    assert (stored.reviews_received, stored.score, stored.score_final) == (1, 86, False)
    [mine] = await uow.panels.assignments(application_id=application.application_id, reviewer_id=ahn.id)
    assert (mine.scores, mine.reviewed_at) == (SCORES, at)
    assert uow.published == published  # a score so far is for the operators, not announced


async def test_a_reviewer_not_on_the_panel_may_not_review(bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    application = p1()
    await in_review(bus, application)
    [outsider] = await register(bus, "Dong")
    with pytest.raises(Forbidden):
        await bus.handle(review(application, outsider, T0))
    assert await uow.panels.reviews(application.application_id) == []


async def test_a_review_of_an_application_never_evaluated_is_refused_like_another_panels(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    [ahn] = await register(bus, "Ahn")
    with pytest.raises(Forbidden):
        await bus.handle(review(p1(), ahn, T0))


async def test_a_second_review_by_the_same_reviewer_is_a_conflict(bus: MessageBus,
                                                                  uow: FakeEvaluationUnitOfWork) -> None:
    application = p1()
    ahn, _, _ = await in_review(bus, application)
    await bus.handle(review(application, ahn, T0))
    with pytest.raises(Conflict, match="reviewed"):
        await bus.handle(review(application, ahn, T0, scores={**SCORES, "capability_readiness": 10.0}))
    [kept] = await uow.panels.reviews(application.application_id)
    assert kept.scores == SCORES


async def test_a_review_after_the_call_closed_is_a_conflict(bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    application = p1()
    ahn, _, _ = await in_review(bus, application)
    await bus.handle(close(application))
    with pytest.raises(Conflict, match="closed"):
        await bus.handle(review(application, ahn, T0))
    assert await uow.panels.reviews(application.application_id) == []


async def test_a_review_off_the_rubric_is_refused_naming_each_field(bus: MessageBus,
                                                                   uow: FakeEvaluationUnitOfWork) -> None:
    application = p1()
    ahn, _, _ = await in_review(bus, application)
    scores = {"technical_social_impact": 80.0, "ai_ecosystem_contribution": 170.0, "originality": 50.0}
    with pytest.raises(InvalidInput) as refused:
        await bus.handle(review(application, ahn, T0, scores=scores))
    assert [f for f, _ in refused.value.problems] == [
        "scores.capability_readiness", "scores.originality", "scores.ai_ecosystem_contribution"]
    assert refused.value.field == "scores.capability_readiness"
    assert await uow.panels.reviews(application.application_id) == []


async def test_a_registered_reviewer_joins_the_pool(bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    reviewer = await bus.handle(RegisterReviewer(name="Ahn", institution="POSTECH", expertise=("nlp",)))
    assert await uow.reviewers.find() == [reviewer]
    assert (reviewer.expertise, reviewer.active) == (("nlp",), True)
    assert uow.published == []


async def test_waiting_applications_get_their_panels_oldest_first_once_enough_reviewers_register(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork, clock: ManualClock) -> None:
    await register(bus, "Ahn", "Baek")
    newer, older = p1(), p1(submitted_at=T0 - timedelta(days=1))
    await bus.handle(newer)  # arrives first, submitted later
    await bus.handle(older)
    assert uow.published == []
    clock.advance(hours=5)
    await register(bus, "Cho")
    assert [e.application_id for e in uow.outbox.of_type(ApplicationInReview)] == [
        older.application_id, newer.application_id]
    for application in (older, newer):
        assert uow.evaluations[application.application_id].status is Status.IN_REVIEW
        panel = await uow.panels.assignments(application_id=application.application_id)
        assert [(a.reviewer_name, a.assigned_at) for a in panel] == [
            ("Ahn", clock.now), ("Baek", clock.now), ("Cho", clock.now)]


async def test_an_inactive_reviewer_is_registered_but_never_put_on_a_panel(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    await register(bus, "Ahn", "Baek")
    waiting = p1()
    await bus.handle(waiting)
    await register(bus, "Cho", active=False)
    assert len(await uow.reviewers.find()) == 3
    assert uow.evaluations[waiting.application_id].status is Status.AWAITING_REVIEWERS
    assert uow.published == []
