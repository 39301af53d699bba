"""A call's close (ScoreRound): reviewed scores become final, the unreviewed are rejected, and the round is reported
once every listed application is decided, all under the version in force at the close."""
from __future__ import annotations

from datetime import date, timedelta

from contracts import ApplicationRejected, ApplicationScored, RoundScored
from evaluation.domain.model import Company, Status
from evaluation.domain.policy import Change
from servicekit.bus import MessageBus
from support.clock import ManualClock

from .fakes import FakeEvaluationUnitOfWork
from .samples import SCORES, T0, close, in_review, p1, review


async def test_the_close_makes_reviewed_scores_final_rejects_the_unreviewed_and_reports_the_round(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork, clock: ManualClock) -> None:
    reviewed = p1()
    unreviewed = p1(call_id=reviewed.call_id)
    ahn, baek, _ = await in_review(bus, reviewed, unreviewed)
    await bus.handle(review(reviewed, ahn, T0))
    await bus.handle(review(reviewed, baek, T0))
    clock.advance(days=1)
    closed = close(reviewed, unreviewed, closes_at=T0 + timedelta(hours=12))
    item = await bus.handle(closed)
    assert (item.policy_version, item.closed_at) == ("2026.1", clock.now)
    scored, rejected = uow.evaluations[reviewed.application_id], uow.evaluations[unreviewed.application_id]
    assert (scored.status, scored.score_final, scored.evaluated_at) == (Status.ELIGIBLE, True, clock.now)
    assert rejected.status is Status.REJECTED and rejected.failed_rules[0].startswith("insufficient_reviews")
    assert [e.application_id for e in uow.outbox.of_type(ApplicationScored)] == [reviewed.application_id]
    assert [e.application_id for e in uow.outbox.of_type(ApplicationRejected)] == [unreviewed.application_id]
    [report] = uow.outbox.of_type(RoundScored)
    assert (report.scored, report.rejected) == ([reviewed.application_id], [unreviewed.application_id])
    assert uow.rounds[closed.call_id].scored_at == clock.now


async def test_a_close_below_the_minimum_of_reviews_scores_with_the_review_in(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    application = p1()
    ahn, _, _ = await in_review(bus, application)
    await bus.handle(review(application, ahn, T0))
    await bus.handle(close(application))
    result = uow.evaluations[application.application_id]
    assert (result.status, result.reviews_received, result.reviews_required) == (Status.ELIGIBLE, 1, 2)
    assert [e.application_id for e in uow.outbox.of_type(ApplicationScored)] == [application.application_id]


async def test_a_repeated_close_changes_nothing(bus: MessageBus, uow: FakeEvaluationUnitOfWork,
                                               clock: ManualClock) -> None:
    application = p1()
    await in_review(bus, application)
    closed = close(application)
    await bus.handle(closed)
    published = list(uow.published)
    clock.advance(days=1)
    assert await bus.handle(closed) is None
    assert uow.published == published
    assert uow.rounds[closed.call_id].closed_at == T0


async def test_the_round_waits_for_a_listed_application_that_has_not_arrived(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    arrived = p1()
    missing = p1(call_id=arrived.call_id)
    await in_review(bus, arrived)
    closed = close(arrived, missing)
    await bus.handle(closed)
    assert uow.evaluations[arrived.application_id].status is Status.REJECTED  # decided: no review came
    assert uow.outbox.of_type(RoundScored) == []
    assert uow.rounds[closed.call_id].scored_at is None


async def test_every_score_of_a_round_is_under_the_version_in_force_at_the_close(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    application = p1()
    ahn, baek, _ = await in_review(bus, application)
    await bus.handle(review(application, ahn, T0))
    await bus.handle(review(application, baek, T0))
    current = await uow.policies.in_force(T0)
    impact_only = {"technical_social_impact": 1.0, "ai_ecosystem_contribution": 0.0, "capability_readiness": 0.0}
    await uow.policies.add(current.from_rules("2026.2", T0 + timedelta(hours=1),
                                              {**current.rules(), "rubric_weights": impact_only}),
                           Change(T0, "operator-kim", "operator"))
    await bus.handle(close(application, closes_at=T0 + timedelta(hours=2)))
    [scored] = uow.outbox.of_type(ApplicationScored)
    [report] = uow.outbox.of_type(RoundScored)
    assert (scored.policy_version, report.policy_version) == ("2026.2", "2026.2")
    assert scored.score == 80 + 6  # the impact score alone, plus both P1 bonuses


async def test_a_score_names_the_facts_its_bonuses_rest_on(bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    regional_youth = p1()  # a Busan startup whose representative is 34
    capital_elder = p1(call_id=regional_youth.call_id,
                       company=Company("1234567891", "startup", "Seoul", date(1970, 5, 1)))
    ahn, _, _ = await in_review(bus, regional_youth, capital_elder)
    for application in (regional_youth, capital_elder):
        await bus.handle(review(application, ahn, T0))
    await bus.handle(close(regional_youth, capital_elder))
    scored = {e.application_id: e for e in uow.outbox.of_type(ApplicationScored)}
    assert scored[regional_youth.application_id].facts == ["youth_company", "regional_company"]
    assert scored[capital_elder.application_id].facts == []
    # the facts are the ones the bonus points were given for
    assert scored[regional_youth.application_id].bonus_points > scored[capital_elder.application_id].bonus_points == 0


async def test_a_score_carries_what_it_was_made_of_for_allocations_what_if(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    """The sector, each criterion's mean unrounded, and the points of each bonus earned (their sum is bonus_points)."""
    regional_youth = p1()  # a Busan startup whose representative is 34
    capital_elder = p1(call_id=regional_youth.call_id,
                       company=Company("1234567891", "startup", "Seoul", date(1970, 5, 1)))
    panel = await in_review(bus, regional_youth, capital_elder)
    for reviewer, impact in zip(panel, (80.0, 85.0, 86.0), strict=True):
        await bus.handle(review(regional_youth, reviewer, T0, {**SCORES, "technical_social_impact": impact}))
    await bus.handle(review(capital_elder, panel[0], T0))
    await bus.handle(close(regional_youth, capital_elder))
    scored = {e.application_id: e for e in uow.outbox.of_type(ApplicationScored)}
    youth, elder = scored[regional_youth.application_id], scored[capital_elder.application_id]
    assert (youth.sector, youth.bonuses) == ("industry", {"regional_company": 3.0, "youth_company": 3.0})
    assert youth.rubric_means == {"technical_social_impact": 251 / 3, "ai_ecosystem_contribution": 70.0,
                                  "capability_readiness": 90.0}
    assert sum(youth.bonuses.values()) == youth.bonus_points
    assert (elder.bonuses, elder.rubric_means) == ({}, SCORES)
