"""The applications, reviewers and reviews the service-tier tests start from, and the moves they make through the
bus (the fast tier's counterpart of the integration tier's builders)."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from evaluation.domain.commands import EvaluateApplication, RegisterReviewer, ScoreRound, SubmitReview
from evaluation.domain.model import Applicant, Company
from evaluation.domain.panel import Reviewer
from servicekit.bus import MessageBus

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # ManualClock's start
SCORES = {"technical_social_impact": 80.0, "ai_ecosystem_contribution": 70.0, "capability_readiness": 90.0}


def p3(**overrides: Any) -> EvaluateApplication:
    """Eligible for P3 with a plan ratio of 1/2: 40 + 30 = 70 points under 2026.1."""
    cmd = EvaluateApplication(
        application_id=uuid.uuid4(), program="P3", call_id=None,
        applicant=Applicant(sector="academia", institution="KAIST", region="Daejeon", name="Dr. Kim"),
        gpus_requested=8, gpu_model="H100", period_start=date(2027, 1, 1), period_end=date(2027, 6, 30),
        planned_gpu_hours_per_month=2920, submitted_at=T0)
    return replace(cmd, **overrides)


def p1(call_id: UUID | None = None, **overrides: Any) -> EvaluateApplication:
    """An eligible P1 application of a regional youth startup, Acme AI, for natural language processing."""
    cmd = EvaluateApplication(
        application_id=uuid.uuid4(), program="P1", call_id=call_id or uuid.uuid4(),
        applicant=Applicant(sector="industry", institution="Acme AI", region="Busan", name="Hong Gildong"),
        company=Company("1234567891", "startup", "Busan", date(1992, 5, 1)), purpose="nlp for call centres",
        gpus_requested=8, gpu_model="H100", period_start=date(2027, 1, 1), period_end=date(2027, 6, 30),
        planned_gpu_hours_per_month=3000, submitted_at=T0)
    return replace(cmd, **overrides)


def close(*applications: EvaluateApplication, closes_at: datetime = T0) -> ScoreRound:
    """The close of the call of `applications`, listing them."""
    [call_id] = {a.call_id for a in applications}
    assert call_id is not None
    return ScoreRound(call_id=call_id, program="P1", opens_at=datetime(2026, 11, 1, tzinfo=UTC),
                      closes_at=closes_at, application_ids=tuple(a.application_id for a in applications))


async def register(bus: MessageBus, *names: str, institution: str = "POSTECH", **fields: Any) -> list[Reviewer]:
    return [await bus.handle(RegisterReviewer(name=n, institution=institution, **fields)) for n in names]


async def in_review(bus: MessageBus, *applications: EvaluateApplication) -> list[Reviewer]:
    """Three reviewers, then the applications: each gets those three as its panel."""
    panel = await register(bus, "Ahn", "Baek", "Cho")
    for a in applications:
        await bus.handle(a)
    return panel


def review(application: EvaluateApplication, reviewer: Reviewer, at: datetime,
           scores: dict[str, float] = SCORES) -> SubmitReview:
    return SubmitReview(application_id=application.application_id, reviewer_id=reviewer.id, scores=scores, at=at)
