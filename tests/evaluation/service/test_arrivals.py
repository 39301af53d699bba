"""A submitted application's evaluation (EvaluateApplication): eligibility, a P3 score at once, a P1/P2 panel, and
an application that arrives after its call closed — through the bus, in memory."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

from contracts import ApplicationInReview, ApplicationRejected, ApplicationScored, RoundScored
from evaluation.domain.model import Company, Status
from evaluation.domain.panel import SAME_INSTITUTION
from evaluation.domain.policy import Change
from servicekit.bus import MessageBus
from support.clock import ManualClock

from .fakes import FakeEvaluationUnitOfWork
from .samples import T0, close, p1, p3, register


async def test_an_eligible_p3_plan_is_scored_at_once_and_announced(bus: MessageBus, uow: FakeEvaluationUnitOfWork,
                                                                    clock: ManualClock) -> None:
    cmd = p3()
    clock.advance(minutes=3)
    await bus.handle(cmd)
    stored = uow.evaluations[cmd.application_id]
    assert (stored.status, stored.score, stored.policy_version) == (Status.ELIGIBLE, 70.0, "2026.1")
    assert stored.evaluated_at == clock.now
    [scored] = uow.outbox.of_type(ApplicationScored)
    assert (scored.application_id, scored.score, scored.policy_version) == (cmd.application_id, 70.0, "2026.1")
    assert uow.commits == 1


async def test_an_ineligible_application_is_rejected_naming_the_rules_it_fails(bus: MessageBus,
                                                                              uow: FakeEvaluationUnitOfWork) -> None:
    await register(bus, "Ahn", "Baek", "Cho")
    cmd = p1(company=Company("1234567891", "large", "Busan", date(1992, 5, 1)))
    await bus.handle(cmd)
    assert uow.evaluations[cmd.application_id].status is Status.REJECTED
    [rejected] = uow.published
    assert isinstance(rejected, ApplicationRejected)
    assert [r.split(":")[0] for r in rejected.failed_rules] == ["p1_company_size"]
    assert uow.panels.seats == []  # no panel for a rejected application


async def test_a_p1_application_gets_three_reviewers_free_of_conflicts_and_goes_in_review(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork, clock: ManualClock) -> None:
    [colleague] = await register(bus, "Lee", institution="ACME ai")
    ahn, baek, _, _ = await register(bus, "Ahn", "Baek", "Cho", "Dong")
    [expert] = await register(bus, "Yoon", expertise=("NLP",))
    cmd = p1()
    clock.advance(hours=1)
    await bus.handle(cmd)
    assert uow.evaluations[cmd.application_id].status is Status.IN_REVIEW
    panel = await uow.panels.assignments(application_id=cmd.application_id)
    # the expert, then the first others by name; never the applicant's colleague
    assert {a.reviewer_id for a in panel} == {expert.id, ahn.id, baek.id}
    assert {a.assigned_at for a in panel} == {clock.now}
    assert uow.panels.excluded[(cmd.application_id, colleague.id)].startswith(SAME_INSTITUTION)
    assert [(e.application_id, e.reviewers) for e in uow.outbox.of_type(ApplicationInReview)] == [
        (cmd.application_id, 3)]


async def test_a_p1_application_waits_when_too_few_reviewers_are_free_of_conflicts(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    await register(bus, "Ahn", "Baek")
    await register(bus, "Lee", institution="Acme AI")
    cmd = p1()
    await bus.handle(cmd)
    assert uow.evaluations[cmd.application_id].status is Status.AWAITING_REVIEWERS
    assert uow.panels.seats == []
    assert len(uow.panels.excluded) == 1  # the conflict is on record even so
    assert uow.published == []


async def test_a_submission_sent_again_under_another_event_keeps_the_first_evaluation(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork, clock: ManualClock) -> None:
    cmd = p3()
    first = await bus.handle(cmd)
    clock.advance(days=1)
    assert await bus.handle(cmd) is None
    assert uow.evaluations[cmd.application_id].evaluated_at == first.evaluated_at == T0
    assert len(uow.outbox.of_type(ApplicationScored)) == 1


async def test_a_redelivered_event_is_handled_once(bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    cmd, event_id = p3(), uuid.uuid4()
    await bus.handle(cmd, message_id=event_id)
    assert await bus.handle(cmd, message_id=event_id) is None
    assert (uow.commits, len(uow.published)) == (1, 1)


async def test_a_submission_is_judged_under_the_version_in_force_when_it_was_submitted(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    current = await uow.policies.in_force(T0)
    generous = current.from_rules("2026.2", T0 + timedelta(days=1), {**current.rules(), "eligibility_base_points": 50})
    await uow.policies.add(generous, Change(T0, "operator-kim", "operator"))
    before, after = p3(submitted_at=T0 + timedelta(hours=23)), p3(submitted_at=T0 + timedelta(days=2))
    await bus.handle(before)
    await bus.handle(after)
    # 40 + 60 x 1/2 under 2026.1; 50 + 50 x 1/2 under 2026.2
    assert [(e.policy_version, e.score) for e in uow.outbox.of_type(ApplicationScored)] == [
        ("2026.1", 70.0), ("2026.2", 75.0)]


async def test_an_application_arriving_after_its_call_closed_is_decided_at_once_and_completes_the_round(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork, clock: ManualClock) -> None:
    await register(bus, "Ahn", "Baek", "Cho")
    late = p1()
    closed = close(late)
    await bus.handle(closed)  # the close overtook the submission
    assert uow.rounds[closed.call_id].scored_at is None
    clock.advance(minutes=5)
    await bus.handle(late)
    result = uow.evaluations[late.application_id]
    assert result.status is Status.REJECTED and result.failed_rules[0].startswith("insufficient_reviews")
    assert uow.panels.seats == []  # no panel can review it any more
    [report] = uow.outbox.of_type(RoundScored)
    assert (report.call_id, report.scored, report.rejected) == (closed.call_id, [], [late.application_id])
    assert uow.rounds[closed.call_id].scored_at == clock.now
