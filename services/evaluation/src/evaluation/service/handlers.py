"""Evaluation's handlers; the HANDLERS map at the bottom is the service's table of contents.

Handlers that need the scoring policy declare a keyword-only `policy` parameter; bootstrap injects it.
"""
from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime

from contracts import ApplicationRejected, ApplicationScored, Event
from evaluation.adapters.unit_of_work import EvaluationUnitOfWork
from evaluation.domain import model
from evaluation.domain.commands import EvaluateApplication
from evaluation.domain.model import Policy, Status

log = logging.getLogger(__name__)


async def evaluate_application(cmd: EvaluateApplication, uow: EvaluationUnitOfWork, *,
                               policy: Policy) -> model.Evaluation | None:
    submission = model.Submission(**{f.name: getattr(cmd, f.name) for f in dataclasses.fields(cmd)})
    result = model.evaluate(submission, policy, datetime.now(UTC))
    if not await uow.evaluations.add(result):
        # the same application under another event id (a re-sent submission): the first evaluation stands
        log.warning("application %s is already evaluated; ignoring the repeat", cmd.application_id)
        return None
    outcome = _outcome(result)
    if outcome is not None:
        await uow.outbox.add(outcome)
    return result


def _outcome(result: model.Evaluation) -> Event | None:
    """The event telling the others; none while a P1/P2 application awaits its review panel (a later issue)."""
    s = result.submission
    if result.status is Status.REJECTED:
        return ApplicationRejected(application_id=s.application_id, program=s.program,
                                   failed_rules=result.failed_rules, policy_version=result.policy_version)
    if result.status is Status.ELIGIBLE and result.score is not None:
        return ApplicationScored(
            application_id=s.application_id, program=s.program, call_id=s.call_id, score=result.score,
            policy_version=result.policy_version, track="general", institution=s.applicant.institution,
            gpus_requested=s.gpus_requested, gpu_model=s.gpu_model, period_start=s.period_start,
            period_end=s.period_end, planned_gpu_hours_per_month=s.planned_gpu_hours_per_month,
        )
    return None


HANDLERS = {
    EvaluateApplication: evaluate_application,
}
