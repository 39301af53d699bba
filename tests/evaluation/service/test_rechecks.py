"""Eligibility re-checked at award time by an operator (RecheckEligibility) and before an offer of freed capacity at
allocation's request (RecheckForOffer), each under the version in force at its moment."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from contracts import ApplicationRejected, EligibilityConfirmed
from evaluation.domain.commands import RecheckEligibility, RecheckForOffer
from evaluation.domain.errors import Conflict, EvaluationNotFound, InvalidInput
from evaluation.domain.model import NO_EVALUATION, ProgramCode, Status
from evaluation.domain.policy import Change
from servicekit.bus import MessageBus

from .fakes import FakeEvaluationUnitOfWork
from .samples import T0, close, in_review, p1, p3


def offer(application_id: uuid.UUID, at: timedelta = timedelta(days=1),
          program: ProgramCode = "P3") -> RecheckForOffer:
    """Allocation's request, `at` after T0, to re-check an application before offering it freed capacity."""
    return RecheckForOffer(application_id=application_id, offer_id=uuid.uuid4(), program=program, at=T0 + at)


async def test_a_recheck_that_passes_is_kept_in_the_history_and_announces_nothing(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    application = p3()
    await bus.handle(application)
    published = list(uow.published)
    at = T0 + timedelta(days=30)
    result, done = await bus.handle(RecheckEligibility(application_id=application.application_id, at=at))
    assert (done.passed, done.at, done.policy_version, done.changes) == (True, at, "2026.1", {})
    assert uow.evaluations[application.application_id].rechecks == [done]
    assert result.status is Status.ELIGIBLE
    assert uow.published == published


async def test_a_company_grown_too_large_fails_the_recheck_and_the_application_is_rejected(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    application = p1()
    await in_review(bus, application)
    _, done = await bus.handle(RecheckEligibility(application_id=application.application_id, at=T0,
                                                  company_size="large"))
    assert (done.passed, done.changes) == (False, {"company_size": "large"})
    stored = uow.evaluations[application.application_id]
    assert stored.status is Status.REJECTED and stored.submission.company is not None
    assert stored.submission.company.size == "large"
    [rejected] = uow.outbox.of_type(ApplicationRejected)
    assert rejected.application_id == application.application_id and rejected.offer_id is None
    assert [r.split(":")[0] for r in rejected.failed_rules] == ["p1_company_size"]


async def test_a_recheck_of_an_application_never_evaluated_is_not_found(bus: MessageBus) -> None:
    with pytest.raises(EvaluationNotFound):
        await bus.handle(RecheckEligibility(application_id=uuid.uuid4(), at=T0))


async def test_a_rejected_application_is_not_rechecked(bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    application = p1()
    await in_review(bus, application)
    await bus.handle(close(application))  # no review: rejected
    with pytest.raises(Conflict, match="rejected"):
        await bus.handle(RecheckEligibility(application_id=application.application_id, at=T0))
    assert uow.evaluations[application.application_id].rechecks == []


async def test_a_company_size_for_an_application_without_a_company_is_refused_naming_the_field(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    application = p3()
    await bus.handle(application)
    with pytest.raises(InvalidInput) as refused:
        await bus.handle(RecheckEligibility(application_id=application.application_id, at=T0, company_size="small"))
    assert [f for f, _ in refused.value.problems] == ["company_size"]
    assert uow.evaluations[application.application_id].rechecks == []


async def test_an_offer_recheck_that_passes_confirms_the_offer_under_the_version_then_in_force(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    application = p3()
    await bus.handle(application)
    current = await uow.policies.in_force(T0)
    await uow.policies.add(current.from_rules("2026.2", T0 + timedelta(hours=1), current.rules()),
                           Change(T0, "operator-kim", "operator"))
    asked = offer(application.application_id, at=timedelta(days=2))
    done = await bus.handle(asked)
    assert (done.passed, done.offer_id, done.policy_version) == (True, asked.offer_id, "2026.2")
    [confirmed] = uow.outbox.of_type(EligibilityConfirmed)
    assert (confirmed.application_id, confirmed.offer_id, confirmed.policy_version) == (
        application.application_id, asked.offer_id, "2026.2")
    assert uow.evaluations[application.application_id].rechecks == [done]


async def test_an_offer_for_a_plan_whose_period_has_ended_is_refused_and_the_application_rejected(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    application = p3()
    await bus.handle(application)
    asked = offer(application.application_id, at=timedelta(days=365))  # the period ended on 30 June 2027
    done = await bus.handle(asked)
    assert done.passed is False
    assert uow.evaluations[application.application_id].status is Status.REJECTED
    [rejected] = uow.outbox.of_type(ApplicationRejected)
    assert rejected.offer_id == asked.offer_id
    assert [r.split(":")[0] for r in rejected.failed_rules] == ["p3_period_not_ended"]
    assert not uow.outbox.of_type(EligibilityConfirmed)


async def test_an_offer_for_an_application_never_evaluated_is_answered_with_a_rejection(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    asked = offer(uuid.uuid4(), program="P2")
    assert await bus.handle(asked) is None
    [rejected] = uow.published
    assert isinstance(rejected, ApplicationRejected)
    assert (rejected.application_id, rejected.program, rejected.offer_id) == (
        asked.application_id, "P2", asked.offer_id)
    assert rejected.failed_rules[0].startswith(NO_EVALUATION)
    assert uow.evaluations.rows == {}


async def test_an_offer_for_an_application_rejected_before_repeats_the_rejection_without_a_recheck(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    application = p1()
    await in_review(bus, application)
    await bus.handle(close(application))
    asked = offer(application.application_id, program="P1")
    assert await bus.handle(asked) is None
    first, again = uow.outbox.of_type(ApplicationRejected)
    assert (first.offer_id, again.offer_id) == (None, asked.offer_id)
    assert again.failed_rules == first.failed_rules
    assert uow.evaluations[application.application_id].rechecks == []
