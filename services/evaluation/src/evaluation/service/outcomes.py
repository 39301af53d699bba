"""The events that tell the other services what evaluation decided."""
from __future__ import annotations

from contracts import ApplicationRejected, ApplicationScored, Event
from evaluation.domain import facts
from evaluation.domain.model import Evaluation, Status
from evaluation.domain.policy import Policy
from evaluation.domain.scoring import Scorecard


def _region(result: Evaluation) -> str:
    s = result.submission
    return facts.p1_region(s) if s.program == "P1" else s.applicant.region


def _servers(result: Evaluation, policy: Policy) -> int | None:
    s = result.submission
    if s.program != "P2":
        return None
    return s.servers_requested or max(1, s.gpus_requested // policy.server_gpus)


def scored_event(result: Evaluation, policy: Policy) -> ApplicationScored:
    """What allocation needs to rank and place the application; `policy` is the version of the score."""
    s = result.submission
    assert result.score is not None
    return ApplicationScored(
        application_id=s.application_id, program=s.program, call_id=s.call_id, score=result.score,
        policy_version=result.policy_version, track=facts.track(s, policy), institution=s.applicant.institution,
        gpus_requested=s.gpus_requested, gpu_model=s.gpu_model, period_start=s.period_start,
        period_end=s.period_end, planned_gpu_hours_per_month=s.planned_gpu_hours_per_month,
        servers_requested=_servers(result, policy), region=_region(result),
        bonus_points=Scorecard(result.criteria, result.components).bonus_points,
    )


def rejected_event(result: Evaluation) -> ApplicationRejected:
    s = result.submission
    return ApplicationRejected(application_id=s.application_id, program=s.program,
                               failed_rules=result.failed_rules, policy_version=result.policy_version)


def outcome(result: Evaluation, policy: Policy) -> Event | None:
    """The decision as an event; none while the application is still with (or waiting for) its panel."""
    if result.status is Status.REJECTED:
        return rejected_event(result)
    if result.status is Status.ELIGIBLE:
        return scored_event(result, policy)
    return None
