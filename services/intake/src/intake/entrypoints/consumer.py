"""Other services' events, translated into intake's commands: each outcome becomes the application's status."""
from __future__ import annotations

from contracts import (
    ApplicationInReview,
    ApplicationRejected,
    ApplicationScored,
    ApplicationWaitlisted,
    ResourceAllocated,
    ResourceReclaimed,
)
from intake.domain.commands import RecordOutcome
from intake.domain.model import Status

TRANSLATIONS = {
    ApplicationInReview: lambda e: RecordOutcome(e.application_id, Status.IN_REVIEW,
                                                 f"{e.reviewers} reviewers assigned", e.occurred_at),
    ApplicationScored: lambda e: RecordOutcome(e.application_id, Status.SCORED, f"score {e.score:.2f}",
                                               e.occurred_at),
    ApplicationRejected: lambda e: RecordOutcome(e.application_id, Status.REJECTED, "; ".join(e.failed_rules),
                                                 e.occurred_at),
    ApplicationWaitlisted: lambda e: RecordOutcome(e.application_id, Status.WAITLISTED, e.reason,
                                                   e.occurred_at),
    ResourceAllocated: lambda e: RecordOutcome(e.application_id, Status.ACTIVE, f"{e.gpus} GPUs allocated",
                                               e.occurred_at),
    ResourceReclaimed: lambda e: RecordOutcome(e.application_id, Status.RECLAIMED, e.reason, e.occurred_at),
}
