"""Evaluation's unit of work: the shared SQL unit of work plus evaluation's repositories."""
from __future__ import annotations

from evaluation.adapters.panels import PanelRepository, ReviewerRepository
from evaluation.adapters.policies import PolicyRepository, RoundRepository
from evaluation.adapters.repository import EvaluationRepository
from servicekit.uow import SqlUnitOfWork


class EvaluationUnitOfWork(SqlUnitOfWork):
    evaluations: EvaluationRepository
    policies: PolicyRepository
    reviewers: ReviewerRepository
    panels: PanelRepository
    rounds: RoundRepository

    def _start(self) -> None:
        self.evaluations = EvaluationRepository(self.session)
        self.policies = PolicyRepository(self.session)
        self.reviewers = ReviewerRepository(self.session)
        self.panels = PanelRepository(self.session)
        self.rounds = RoundRepository(self.session)
