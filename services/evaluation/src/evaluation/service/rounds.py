"""A round's close: every listed application is decided under the version in force at the close, then reported.

A submission may reach evaluation after its call's close (they travel on different topics): it is decided on
arrival, and the round is reported once its last listed application is decided.
"""
from __future__ import annotations

from datetime import datetime

from contracts import RoundScored
from evaluation.domain import decisions
from evaluation.domain.model import Evaluation, Round, Status
from evaluation.domain.policy import Policy
from evaluation.service.outcomes import outcome
from evaluation.service.unit_of_work import EvaluationUnitOfWork


async def decide(result: Evaluation, policy: Policy, uow: EvaluationUnitOfWork, at: datetime) -> None:
    """Make the score final (or reject for want of a review); an application decided before keeps its decision."""
    if result.decided:
        return
    decisions.close(result, await uow.panels.reviews(result.application_id), policy, at)
    await uow.evaluations.save(result)
    event = outcome(result, policy)
    if event is not None:
        await uow.outbox.add(event)


async def report_if_complete(item: Round, uow: EvaluationUnitOfWork, at: datetime) -> bool:
    """Publish RoundScored once every listed application is decided or withdrawn; True when it was published now.

    A withdrawn application is in neither list: allocation expects no score of it."""
    if item.scored_at is not None:
        return False
    statuses = await uow.evaluations.statuses(item.application_ids)
    if len(statuses) < len(set(item.application_ids)) or not all(s.settled for s in statuses.values()):
        return False
    await uow.rounds.mark_scored(item.call_id, at)
    await uow.outbox.add(RoundScored(
        call_id=item.call_id, program=item.program, policy_version=item.policy_version,
        scored=[a for a in item.application_ids if statuses[a] is Status.ELIGIBLE],
        rejected=[a for a in item.application_ids if statuses[a] is Status.REJECTED]))
    return True


async def decide_late(result: Evaluation, item: Round, uow: EvaluationUnitOfWork, at: datetime) -> None:
    """An application of a call that closed before it arrived: no panel can review it any more."""
    policy = await uow.policies.get(item.policy_version) or await uow.policies.in_force(item.closes_at)
    await decide(result, policy, uow, at)
    if result.application_id in item.application_ids:
        await report_if_complete(item, uow, at)
