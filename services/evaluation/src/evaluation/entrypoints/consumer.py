"""Other services' events, translated into evaluation's commands: a submission is evaluated, a withdrawn one ended,
a closed call scored, capacity held for a waitlisted application re-checked before it is offered."""
from __future__ import annotations

from contracts import ApplicationSubmitted, ApplicationWithdrawn, CallClosed, EligibilityRecheckRequested
from evaluation.domain.commands import EvaluateApplication, RecheckForOffer, ScoreRound, WithdrawApplication
from evaluation.domain.model import Applicant, Company, CorporateParticipant, Researcher
from servicekit.worker import Translations


def evaluate_submitted(e: ApplicationSubmitted) -> EvaluateApplication:
    """The submission as evaluation needs it; its event time is the submission time the rules and policy use."""
    return EvaluateApplication(
        application_id=e.application_id, program=e.program, call_id=e.call_id,
        applicant=Applicant(sector=e.applicant.sector, institution=e.applicant.institution,
                            region=e.applicant.region, name=e.applicant.name),
        gpus_requested=e.gpus_requested, gpu_model=e.gpu_model, period_start=e.period_start,
        period_end=e.period_end, planned_gpu_hours_per_month=e.planned_gpu_hours_per_month,
        submitted_at=e.occurred_at, purpose=e.purpose,
        company=Company(**e.company.model_dump()) if e.company is not None else None,
        researcher=Researcher(**e.researcher.model_dump()) if e.researcher is not None else None,
        servers_requested=e.servers_requested,
        corporate_participants=tuple(CorporateParticipant(c.name, c.size) for c in e.corporate_participants),
        open_source=e.open_source, training_data_scale=e.training_data_scale, earliest_start=e.earliest_start,
        acceptable_window_months=e.acceptable_window_months,
    )


def withdraw(e: ApplicationWithdrawn) -> WithdrawApplication:
    """The applicant withdrew at the event's time."""
    return WithdrawApplication(application_id=e.application_id, at=e.occurred_at, reason=e.reason)


def score_closed(e: CallClosed) -> ScoreRound:
    return ScoreRound(call_id=e.call_id, program=e.program, opens_at=e.opens_at, closes_at=e.closes_at,
                      application_ids=tuple(e.application_ids))


def recheck_requested(e: EligibilityRecheckRequested) -> RecheckForOffer:
    """The rules run under the version in force when allocation asked, not when the worker got to it."""
    return RecheckForOffer(application_id=e.application_id, offer_id=e.offer_id, program=e.program,
                           at=e.occurred_at)


# allocation's other events on its topic have no entry here: the consumer skips them
TRANSLATIONS: Translations = {
    ApplicationSubmitted: evaluate_submitted,
    ApplicationWithdrawn: withdraw,
    CallClosed: score_closed,
    EligibilityRecheckRequested: recheck_requested,
}
