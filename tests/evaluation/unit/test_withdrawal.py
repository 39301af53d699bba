"""A withdrawn evaluation: a terminal state that a round counts as settled, its decision before kept as it was."""
from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from evaluation.config import PolicySeed
from evaluation.domain import decisions
from evaluation.domain.model import Applicant, Company, Status, Submission

POLICY = PolicySeed().policy()
AT = datetime(2026, 4, 10, 9, 30, tzinfo=UTC)


def p1() -> Submission:
    return Submission(
        application_id=uuid4(), program="P1", call_id=uuid4(),
        applicant=Applicant(sector="industry", institution="Acme AI", region="Busan", name="Hong Gildong"),
        gpus_requested=8, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=3000, submitted_at=AT,
        company=Company("1234567891", "startup", "Busan", date(1992, 5, 1)))


@pytest.mark.parametrize("status,settled", [(Status.AWAITING_REVIEWERS, False), (Status.IN_REVIEW, False),
                                            (Status.ELIGIBLE, True), (Status.REJECTED, True),
                                            (Status.WITHDRAWN, True)])
def test_a_round_waits_only_for_applications_still_undecided_and_not_withdrawn(status: Status, settled: bool) -> None:
    assert status.settled is settled


def test_a_withdrawn_evaluation_keeps_what_it_had_and_a_second_withdrawal_changes_nothing() -> None:
    result = decisions.evaluate(p1(), POLICY, AT)
    checks = list(result.checks)
    assert (result.status, result.decided) == (Status.AWAITING_REVIEWERS, False)
    assert result.withdraw() is True
    assert (result.status, result.decided, result.checks, result.evaluated_at) == (Status.WITHDRAWN, True, checks, AT)
    assert result.withdraw() is False


def test_the_close_of_its_round_decides_nothing_for_a_withdrawn_application() -> None:
    result = decisions.evaluate(p1(), POLICY, AT)
    result.withdraw()
    decisions.close(result, [], POLICY, AT)  # no review came: an undecided one would be rejected here
    assert (result.status, result.failed_rules, result.score) == (Status.WITHDRAWN, [], None)
