"""Evaluation's SQL unit of work: the shared SQL unit of work plus evaluation's repositories. It meets the service
layer's port, `evaluation.service.unit_of_work.EvaluationUnitOfWork`."""
from __future__ import annotations

from evaluation.adapters.repository import EvaluationRepository, WithdrawalRepository
from evaluation.adapters.repository_panels import PanelRepository, ReviewerRepository
from evaluation.adapters.repository_policies import PolicyRepository, RoundRepository
from servicekit.uow import SqlUnitOfWork


class SqlEvaluationUnitOfWork(SqlUnitOfWork):
    evaluations: EvaluationRepository
    policies: PolicyRepository
    reviewers: ReviewerRepository
    panels: PanelRepository
    rounds: RoundRepository
    withdrawals: WithdrawalRepository

    def _start(self) -> None:
        self.evaluations = EvaluationRepository(self.session)
        self.policies = PolicyRepository(self.session)
        self.reviewers = ReviewerRepository(self.session)
        self.panels = PanelRepository(self.session)
        self.rounds = RoundRepository(self.session)
        self.withdrawals = WithdrawalRepository(self.session)
