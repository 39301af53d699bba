"""An application's life cycle, without a database."""
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from intake.domain import model
from intake.domain.errors import InvalidApplication, InvalidTransition
from intake.domain.model import Applicant, Status

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def an_application(**overrides: object) -> model.Application:
    fields: dict[str, object] = dict(
        program="P3", call_id=None, applicant=Applicant("Dr. Kim", "academia", "KAIST", "Daejeon"),
        gpus_requested=4, gpu_model="H100", period_start=date(2026, 12, 1), period_end=date(2027, 2, 28),
        planned_gpu_hours_per_month=2000, purpose="fine-tuning a Korean LLM",
    )
    fields.update(overrides)
    return model.submit(uuid4(), uuid4(), NOW, **fields)


def test_a_new_application_starts_submitted_with_one_history_entry() -> None:
    app = an_application()
    assert app.status is Status.SUBMITTED
    assert app.history == [(Status.SUBMITTED, "")]


def test_a_period_that_ends_before_it_starts_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidApplication) as error:
        an_application(period_start=date(2027, 1, 1), period_end=date(2026, 12, 1))
    assert error.value.field == "period_end"


def test_p1_refuses_more_than_sixteen_gpus() -> None:
    with pytest.raises(InvalidApplication) as error:
        an_application(program="P1", gpus_requested=17)
    assert error.value.field == "gpus_requested"


def test_outcomes_arriving_out_of_order_never_move_the_status_back() -> None:
    app = an_application()
    assert app.advance(Status.ACTIVE, "allocated", NOW)
    assert not app.advance(Status.SCORED, "late score", NOW)
    assert app.status is Status.ACTIVE


def test_a_repeated_outcome_changes_nothing() -> None:
    app = an_application()
    assert app.advance(Status.SCORED, "score 80", NOW)
    assert not app.advance(Status.SCORED, "score 80", NOW)


def test_a_reclaimed_application_cannot_be_withdrawn() -> None:
    app = an_application()
    app.advance(Status.RECLAIMED, "low_utilization", NOW)
    with pytest.raises(InvalidTransition):
        app.withdraw("changed plans", NOW)
