"""The evaluation API: read-only views of each application's eligibility, score and explanation."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request

from evaluation.adapters.unit_of_work import EvaluationUnitOfWork
from evaluation.domain.errors import EvaluationNotFound
from evaluation.domain.model import Evaluation
from evaluation.entrypoints.schemas import EvaluationOut, EvaluationQuery
from servicekit.http import PROBLEM_RESPONSES
from servicekit.runtime import runtime_of

router = APIRouter(prefix="/evaluations", tags=["evaluations"], responses=PROBLEM_RESPONSES)


def _out(result: Evaluation) -> EvaluationOut:
    return EvaluationOut.model_validate({
        **vars(result.submission), "applicant": vars(result.submission.applicant),
        "status": result.status, "score": result.score, "policy_version": result.policy_version,
        "components": [vars(c) for c in result.components], "rules": [vars(c) for c in result.checks],
        "failed_rules": result.failed_rules, "evaluated_at": result.evaluated_at,
    })


@router.get("/{application_id}", response_model=EvaluationOut, summary="One application's evaluation")
async def get(application_id: UUID, request: Request) -> EvaluationOut:
    uow: EvaluationUnitOfWork
    async with runtime_of(request.app).uow_factory() as uow:  # type: ignore[assignment]
        result = await uow.evaluations.get(application_id)
    if result is None:
        raise EvaluationNotFound(f"no evaluation for application {application_id}")
    return _out(result)


@router.get("", response_model=list[EvaluationOut], summary="Evaluations, newest first")
async def list_(query: Annotated[EvaluationQuery, Query()], request: Request) -> list[EvaluationOut]:
    uow: EvaluationUnitOfWork
    async with runtime_of(request.app).uow_factory() as uow:  # type: ignore[assignment]
        results = await uow.evaluations.list(program=query.program, limit=query.limit,
                                             status=query.status.value if query.status else None)
    return [_out(r) for r in results]
