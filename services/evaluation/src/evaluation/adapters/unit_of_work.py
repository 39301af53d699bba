"""Evaluation's unit of work: the shared SQL unit of work plus the evaluation repository."""
from __future__ import annotations

from evaluation.adapters.repository import EvaluationRepository
from servicekit.uow import SqlUnitOfWork


class EvaluationUnitOfWork(SqlUnitOfWork):
    evaluations: EvaluationRepository

    def _start(self) -> None:
        self.evaluations = EvaluationRepository(self.session)
