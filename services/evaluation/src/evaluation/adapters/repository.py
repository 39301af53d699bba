"""Evaluations in and out of the database; the explanation (every check and component) is one JSON column."""
from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from evaluation.adapters.orm import evaluation
from evaluation.domain.model import Applicant, Check, Component, Evaluation, Status, Submission

APPLICANT_PREFIX = "applicant_"
SUBMISSION_FIELDS = tuple(f.name for f in dataclasses.fields(Submission) if f.name != "applicant")


def _row(result: Evaluation) -> dict[str, Any]:
    submission = result.submission
    return {
        **{name: getattr(submission, name) for name in SUBMISSION_FIELDS},
        **{APPLICANT_PREFIX + k: v for k, v in vars(submission.applicant).items()},
        "status": result.status.value, "score": result.score, "policy_version": result.policy_version,
        "explanation": {"rules": [dataclasses.asdict(c) for c in result.checks],
                        "components": [dataclasses.asdict(c) for c in result.components]},
        "failed_rules": result.failed_rules, "evaluated_at": result.evaluated_at,
    }


def _evaluation(row: Any) -> Evaluation:
    data = dict(row._mapping)
    applicant = Applicant(**{k.removeprefix(APPLICANT_PREFIX): data.pop(k)
                             for k in list(data) if k.startswith(APPLICANT_PREFIX)})
    submission = Submission(applicant=applicant, **{name: data[name] for name in SUBMISSION_FIELDS})
    explanation = data["explanation"]
    return Evaluation(
        submission=submission, status=Status(data["status"]), score=data["score"],
        policy_version=data["policy_version"], evaluated_at=data["evaluated_at"],
        checks=[Check(**c) for c in explanation["rules"]],
        components=[Component(**c) for c in explanation["components"]],
    )


class EvaluationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, result: Evaluation) -> bool:
        """Store the evaluation; False (and nothing changed) when the application already has one."""
        stmt = (insert(evaluation).values(_row(result))
                .on_conflict_do_nothing(index_elements=[evaluation.c.application_id])
                .returning(evaluation.c.application_id))
        return (await self._session.execute(stmt)).first() is not None

    async def get(self, application_id: UUID) -> Evaluation | None:
        stmt = select(evaluation).where(evaluation.c.application_id == application_id)
        row = (await self._session.execute(stmt)).first()
        return _evaluation(row) if row else None

    async def list(self, *, program: str | None = None, status: str | None = None,
                   limit: int = 50) -> list[Evaluation]:
        stmt = (select(evaluation)
                .order_by(evaluation.c.evaluated_at.desc(), evaluation.c.application_id.desc()).limit(limit))
        for column, value in (("program", program), ("status", status)):
            if value is not None:
                stmt = stmt.where(evaluation.c[column] == value)
        return [_evaluation(r) for r in (await self._session.execute(stmt)).all()]
