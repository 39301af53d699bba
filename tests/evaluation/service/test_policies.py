"""Policy changes (PublishPolicy, CancelPolicy, PreviewPolicy): a version scheduled ahead with who made it, cancelled
only before its start, and previewed without storing anything — timed by the injected clock."""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from evaluation.domain.commands import CancelPolicy, PreviewPolicy, PublishPolicy, RecheckForOffer
from evaluation.domain.errors import Conflict, InvalidInput, PolicyNotFound
from evaluation.domain.policy import Change, State
from servicekit.bus import MessageBus
from support.clock import ManualClock

from .fakes import FakeEvaluationUnitOfWork
from .samples import T0, in_review, p1, p3, review

KIM = {"by": "operator-kim", "role": "operator"}


def publish(version: str, ahead: timedelta = timedelta(hours=1), **changes: Any) -> PublishPolicy:
    return PublishPolicy(version=version, effective_at=T0 + ahead, changes=changes, **KIM)


async def test_a_new_version_is_scheduled_with_who_created_it_and_when(bus: MessageBus, uow: FakeEvaluationUnitOfWork,
                                                                       clock: ManualClock) -> None:
    clock.advance(minutes=10)
    created = await bus.handle(publish("2026.2", p1_youth_bonus_points=5))
    stored = await uow.policies.record("2026.2")
    assert stored == created
    assert created.created == Change(clock.now, "operator-kim", "operator")
    assert created.policy.p1_youth_bonus_points == 5
    assert created.policy.min_reviews == 2  # carried over from 2026.1
    assert created.state(clock.now, "2026.1") is State.SCHEDULED
    assert (await uow.policies.in_force(T0 + timedelta(hours=1))).version == "2026.2"
    assert uow.published == []


async def test_a_version_name_taken_is_a_conflict(bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    with pytest.raises(Conflict, match="exists already"):
        await bus.handle(publish("2026.1"))
    assert [p.version for p in await uow.policies.live()] == ["2026.1"]


async def test_a_version_starting_within_the_minimum_notice_is_refused_naming_its_start(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork, clock: ManualClock) -> None:
    clock.advance(minutes=58)  # five minutes' notice: 2 minutes before the start is too late
    with pytest.raises(InvalidInput) as refused:
        await bus.handle(publish("2026.2"))
    assert [f for f, _ in refused.value.problems] == ["effective_at"]
    assert await uow.policies.record("2026.2") is None


async def test_rules_out_of_their_bounds_are_refused_naming_each_field(bus: MessageBus,
                                                                       uow: FakeEvaluationUnitOfWork) -> None:
    with pytest.raises(InvalidInput) as refused:
        await bus.handle(publish("2026.2", p1_max_gpus=17, youth_max_age_years=70))
    assert {f for f, _ in refused.value.problems} == {"p1_max_gpus", "youth_max_age_years"}
    assert await uow.policies.record("2026.2") is None


async def test_a_scheduled_version_is_cancelled_with_who_did_it_and_governs_nothing(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork, clock: ManualClock) -> None:
    await bus.handle(publish("2026.2"))
    clock.advance(minutes=30)
    done = await bus.handle(CancelPolicy(version="2026.2", by="operator-lee", role="operator"))
    assert done.cancelled == Change(clock.now, "operator-lee", "operator")
    assert await uow.policies.record("2026.2") == done
    assert (await uow.policies.in_force(T0 + timedelta(days=1))).version == "2026.1"


async def test_a_version_that_took_effect_cannot_be_cancelled(bus: MessageBus, uow: FakeEvaluationUnitOfWork,
                                                              clock: ManualClock) -> None:
    await bus.handle(publish("2026.2"))
    clock.advance(hours=1)  # its start, to the second
    with pytest.raises(Conflict, match="took effect"):
        await bus.handle(CancelPolicy(version="2026.2", **KIM))
    assert [p.version for p in await uow.policies.live()] == ["2026.2", "2026.1"]


async def test_a_version_is_cancelled_once(bus: MessageBus, uow: FakeEvaluationUnitOfWork,
                                           clock: ManualClock) -> None:
    await bus.handle(publish("2026.2"))
    first = await bus.handle(CancelPolicy(version="2026.2", **KIM))
    clock.advance(minutes=1)
    with pytest.raises(Conflict, match="cancelled already"):
        await bus.handle(CancelPolicy(version="2026.2", by="operator-lee", role="operator"))
    assert await uow.policies.record("2026.2") == first


async def test_an_unknown_version_is_not_found(bus: MessageBus) -> None:
    with pytest.raises(PolicyNotFound):
        await bus.handle(CancelPolicy(version="2099.1", **KIM))


async def test_a_version_a_decision_dated_ahead_names_cannot_be_cancelled(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    application = p3()
    await bus.handle(application)
    await bus.handle(publish("2026.2"))
    await bus.handle(RecheckForOffer(application_id=application.application_id, offer_id=uuid.uuid4(), program="P3",
                                     at=T0 + timedelta(hours=2)))  # asked for a time ahead of the clock
    with pytest.raises(Conflict, match="a decision dated ahead"):
        await bus.handle(CancelPolicy(version="2026.2", **KIM))
    assert uow.policies.versions["2026.2"].cancelled is None


async def test_a_preview_rescores_the_scored_applications_under_the_proposal_and_stores_nothing(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork, clock: ManualClock) -> None:
    older, newer = p3(), p3(planned_gpu_hours_per_month=5840)  # 70 and 100 points under 2026.1
    await bus.handle(older)
    clock.advance(minutes=1)
    await bus.handle(newer)
    published, commits = list(uow.published), uow.commits
    preview = await bus.handle(PreviewPolicy(version="2026.2", effective_at=T0 + timedelta(hours=1),
                                             changes={"eligibility_base_points": 50}))
    assert (preview.problems, preview.at, preview.in_force.version) == ([], clock.now, "2026.1")
    assert [(a.application_id, a.current_score, a.proposed_score, a.difference) for a in preview.applications] == [
        (newer.application_id, 100.0, 100.0, 0.0), (older.application_id, 70.0, 75.0, 5.0)]
    assert await uow.policies.record("2026.2") is None
    assert (uow.published, uow.commits) == (published, commits + 1)  # an empty transaction


async def test_a_preview_of_one_call_rescores_that_calls_applications_only(
        bus: MessageBus, uow: FakeEvaluationUnitOfWork) -> None:
    rolling, of_the_call = p3(), p1()
    await bus.handle(rolling)
    ahn, _, _ = await in_review(bus, of_the_call)
    await bus.handle(review(of_the_call, ahn, T0))  # a score so far is a score to compare
    preview = await bus.handle(PreviewPolicy(version="2026.2", effective_at=T0 + timedelta(hours=1),
                                             changes={"p1_youth_bonus_points": 0}, call_id=of_the_call.call_id))
    assert [(a.application_id, a.difference) for a in preview.applications] == [(of_the_call.application_id, -3.0)]


async def test_an_unsound_proposal_previews_its_problems_and_no_scores(bus: MessageBus,
                                                                      uow: FakeEvaluationUnitOfWork) -> None:
    await bus.handle(p3())
    preview = await bus.handle(PreviewPolicy(version="2026.2", effective_at=T0 + timedelta(hours=1),
                                             changes={"min_reviews": 5, "reviewers_per_application": 3}))
    assert [f for f, _ in preview.problems] == ["min_reviews"]
    assert (preview.proposed, preview.applications) == (None, [])
