"""Evaluation's handlers; the HANDLERS map at the bottom is the service's table of contents.

Every decision is taken under the policy version in force at its moment (the submission, the call's close, the
re-check), read from the policy_version table, and names that version.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import uuid4

from evaluation.domain import decisions
from evaluation.domain.commands import (
    CancelPolicy,
    EvaluateApplication,
    PreviewPolicy,
    PublishPolicy,
    RecheckEligibility,
    RecheckForOffer,
    RegisterReviewer,
    ScoreRound,
    SubmitReview,
    WithdrawApplication,
)
from evaluation.domain.errors import Conflict, EvaluationNotFound, Forbidden, InvalidInput
from evaluation.domain.model import Evaluation, Recheck, Round, Status
from evaluation.domain.panel import Reviewer
from evaluation.domain.policy import review_problems
from evaluation.service import panels, rounds, withdrawals
from evaluation.service.outcomes import confirmed_event, no_evaluation_event, outcome, rejected_event
from evaluation.service.policies import cancel_policy, preview_policy, publish_policy
from evaluation.service.unit_of_work import EvaluationUnitOfWork
from evaluation.service.withdrawals import withdraw_application
from servicekit.bus import Handlers
from servicekit.clock import Clock

log = logging.getLogger(__name__)


async def evaluate_application(cmd: EvaluateApplication, uow: EvaluationUnitOfWork,
                               clock: Clock) -> Evaluation | None:
    withdrawn, version = await withdrawals.earlier_withdrawal(cmd.application_id, cmd.submitted_at, uow)
    if cmd.call_id is not None:
        await uow.rounds.lock_call(cmd.call_id)
    found = await uow.policies.get(version) if version is not None else None
    policy = found or await uow.policies.in_force(cmd.submitted_at)
    result = decisions.evaluate(cmd, policy, clock())
    if withdrawn is not None:  # withdrawn before it arrived: recorded, neither announced nor sent to a panel
        result.withdraw()
    if not await uow.evaluations.add(result):
        # the same application under another event id (a re-sent submission): the first evaluation stands
        log.warning("application %s is already evaluated; ignoring the repeat", cmd.application_id)
        return None
    closed = await uow.rounds.get(cmd.call_id, for_update=True) if cmd.call_id is not None else None
    event = outcome(result, policy)
    if event is not None:
        await uow.outbox.add(event)
    if closed is not None:
        await rounds.decide_late(result, closed, uow, result.evaluated_at)
    elif result.status is Status.AWAITING_REVIEWERS:
        pool, load = await panels.pool_and_load(uow)
        await panels.assign_panel(result, policy, uow, result.evaluated_at, pool=pool, load=load)
    return result


async def score_round(cmd: ScoreRound, uow: EvaluationUnitOfWork, clock: Clock) -> Round | None:
    await uow.rounds.lock_call(cmd.call_id)
    policy, at = await uow.policies.in_force(cmd.closes_at), clock()
    item = Round(cmd.call_id, cmd.program, cmd.opens_at, cmd.closes_at, cmd.application_ids, policy.version, at)
    if not await uow.rounds.add(item):
        log.warning("call %s was closed already; ignoring the repeated close", cmd.call_id)
        return None
    for application_id in dict.fromkeys(cmd.application_ids):
        result = await uow.evaluations.get(application_id, for_update=True)
        if result is not None:  # one not here yet is decided when it arrives
            await rounds.decide(result, policy, uow, at)
    await rounds.report_if_complete(item, uow, at)
    return item


async def submit_review(cmd: SubmitReview, uow: EvaluationUnitOfWork) -> Evaluation:
    result = await uow.evaluations.get(cmd.application_id, for_update=True)
    mine = await uow.panels.assignments(application_id=cmd.application_id, reviewer_id=cmd.reviewer_id)
    if result is None or not mine:
        raise Forbidden(f"reviewer {cmd.reviewer_id} is not assigned to application {cmd.application_id}")
    if mine[0].reviewed_at is not None:
        raise Conflict(f"reviewer {cmd.reviewer_id} has reviewed application {cmd.application_id} already")
    if result.status is not Status.IN_REVIEW:
        raise Conflict(f"application {cmd.application_id} is {result.status}: its reviews are closed")
    if problems := review_problems(cmd.scores):
        raise InvalidInput(problems)
    await uow.panels.record_review(cmd.application_id, cmd.reviewer_id, cmd.scores, cmd.at)
    policy = await uow.policies.get(result.policy_version) or await uow.policies.in_force(cmd.at)
    decisions.record_reviews(result, await uow.panels.reviews(cmd.application_id), policy)
    await uow.evaluations.save(result)
    return result


async def recheck_eligibility(cmd: RecheckEligibility,
                              uow: EvaluationUnitOfWork) -> tuple[Evaluation, Recheck]:
    result = await uow.evaluations.get(cmd.application_id, for_update=True)
    if result is None:
        raise EvaluationNotFound(f"no evaluation for application {cmd.application_id}")
    if result.status in (Status.REJECTED, Status.WITHDRAWN):
        raise Conflict(f"application {cmd.application_id} is {result.status} already")
    if cmd.company_size is not None and result.submission.company is None:
        raise InvalidInput([("company_size", "the application names no company")])
    done = await _recheck(result, uow, cmd.at, company_size=cmd.company_size, sector=cmd.sector)
    if not done.passed:
        await uow.outbox.add(rejected_event(result))
    return result, done


async def recheck_for_offer(cmd: RecheckForOffer, uow: EvaluationUnitOfWork) -> Recheck | None:
    """Allocation holds capacity and waits for an answer: every request gets one, confirmed or rejected."""
    result = await uow.evaluations.get(cmd.application_id, for_update=True)
    if result is None:
        log.warning("re-check for offer %s: no evaluation of application %s", cmd.offer_id, cmd.application_id)
        policy = await uow.policies.in_force(cmd.at)
        await uow.outbox.add(no_evaluation_event(cmd.application_id, cmd.program, policy, cmd.offer_id))
        return None
    if result.status is Status.WITHDRAWN:  # allocation, told of the withdrawal too, drops its hold itself
        log.info("re-check for offer %s: application %s is withdrawn; no answer", cmd.offer_id, cmd.application_id)
        return None
    if result.status is Status.REJECTED:  # rejected before: the rejection again, nothing re-run
        await uow.outbox.add(rejected_event(result, cmd.offer_id))
        return None
    done = await _recheck(result, uow, cmd.at, offer_id=cmd.offer_id)
    await uow.outbox.add(confirmed_event(result, done, cmd.offer_id) if done.passed
                         else rejected_event(result, cmd.offer_id))
    return done


async def _recheck(result: Evaluation, uow: EvaluationUnitOfWork, at: datetime, **facts: Any) -> Recheck:
    """The one re-check, for operators and offers alike: the rules under the version in force at `at`, recorded in
    the evaluation's history; a rule failing now rejects the application."""
    policy = await uow.policies.in_force(at)
    done = decisions.recheck(result, policy, at, **facts)
    await uow.evaluations.save(result)
    return done


async def register_reviewer(cmd: RegisterReviewer, uow: EvaluationUnitOfWork, clock: Clock) -> Reviewer:
    reviewer = Reviewer(uuid4(), cmd.name, cmd.institution, cmd.expertise, cmd.active)
    await uow.reviewers.add(reviewer)
    assigned = await panels.assign_waiting(uow, clock())
    log.info("reviewer %s registered; %d waiting application(s) got a panel", reviewer.id, assigned)
    return reviewer


HANDLERS: Handlers = {
    EvaluateApplication: evaluate_application,
    ScoreRound: score_round,
    SubmitReview: submit_review,
    RecheckEligibility: recheck_eligibility,
    RecheckForOffer: recheck_for_offer,
    RegisterReviewer: register_reviewer,
    WithdrawApplication: withdraw_application,
    PublishPolicy: publish_policy,
    CancelPolicy: cancel_policy,
    PreviewPolicy: preview_policy,
}
