"""Other services' events, translated into evaluation's commands: a submitted application is evaluated."""
from __future__ import annotations

from contracts import ApplicationSubmitted
from evaluation.domain.commands import EvaluateApplication
from evaluation.domain.model import Applicant


def evaluate_submitted(e: ApplicationSubmitted) -> EvaluateApplication:
    """The submission as evaluation needs it; its event time is the submission time the P3 rules use."""
    return EvaluateApplication(
        application_id=e.application_id, program=e.program, call_id=e.call_id,
        applicant=Applicant(sector=e.applicant.sector, institution=e.applicant.institution,
                            region=e.applicant.region),
        gpus_requested=e.gpus_requested, gpu_model=e.gpu_model, period_start=e.period_start,
        period_end=e.period_end, planned_gpu_hours_per_month=e.planned_gpu_hours_per_month,
        submitted_at=e.occurred_at,
    )


TRANSLATIONS = {
    ApplicationSubmitted: evaluate_submitted,
}
