"""An application's life cycle, without a database."""
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from intake.domain import model
from intake.domain.calls import Call, IntakeMode, Program
from intake.domain.errors import InvalidInput, InvalidTransition
from intake.domain.forms import Applicant, Company, Form, Limits
from intake.domain.model import Status

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
P1 = Program("P1", "HPC support", IntakeMode.ROUND)
P3 = Program("P3", "Government GPUs", IntakeMode.ROLLING)
CALL = Call(uuid4(), "P1", "2027 round 1", NOW - timedelta(days=1), NOW + timedelta(days=7))


def p3_form(**overrides: object) -> Form:
    fields: dict[str, object] = dict(
        program="P3", applicant=Applicant("Dr. Kim", "academia", "KAIST", "Daejeon"), gpus_requested=4,
        gpu_model="H100", period_start=date(2026, 12, 1), period_end=date(2027, 2, 28),
        planned_gpu_hours_per_month=2000, purpose="fine-tuning a Korean LLM", earliest_start=date(2026, 12, 1),
        acceptable_window_months=3,
    )
    fields.update(overrides)
    return Form(**fields)  # type: ignore[arg-type]


def p1_form(**overrides: object) -> Form:
    company = Company("1234567891", "startup", "Busan", date(1992, 3, 14))
    fields: dict[str, object] = dict(
        program="P1", call_id=CALL.id, applicant=Applicant("Kim Minji", "industry", "Haneul AI", "Busan"),
        company=company, gpus_requested=8, gpu_model="H100", period_start=date(2027, 1, 1),
        period_end=date(2027, 6, 30), planned_gpu_hours_per_month=3000, purpose="a service model",
        training_data_scale="200 GB",
    )
    fields.update(overrides)
    return Form(**fields)  # type: ignore[arg-type]


def an_application(form: Form | None = None, *, submit: bool = True, call: Call | None = None) -> model.Application:
    form = form or p3_form()
    program = P1 if form.program == "P1" else P3
    return model.new_application(uuid4(), uuid4(), form, program=program, call=call, at=NOW, limits=Limits(),
                                 submit=submit)


def test_a_new_application_starts_submitted_with_one_history_entry() -> None:
    app = an_application()
    assert app.status is Status.SUBMITTED
    assert app.submitted_at == NOW
    assert app.history == [(Status.SUBMITTED, "")]


def test_a_draft_is_not_submitted_until_it_is() -> None:
    app = an_application(submit=False)
    assert (app.status, app.submitted_at) == (Status.DRAFT, None)
    app.submit(NOW + timedelta(hours=1), P3, None)
    assert (app.status, app.submitted_at) == (Status.SUBMITTED, NOW + timedelta(hours=1))
    assert app.history == [(Status.DRAFT, ""), (Status.SUBMITTED, "")]


def test_a_submitted_application_cannot_be_submitted_again() -> None:
    app = an_application()
    with pytest.raises(InvalidTransition):
        app.submit(NOW, P3, None)


def test_a_draft_of_a_round_is_kept_after_its_call_closed_but_cannot_be_submitted() -> None:
    call = Call(CALL.id, "P1", "round", CALL.opens_at, CALL.closes_at)
    app = an_application(p1_form(), submit=False, call=call)
    call.close(NOW)
    with pytest.raises(InvalidInput) as error:
        app.submit(NOW + timedelta(minutes=1), P1, call)
    assert error.value.field == "call_id"
    assert app.status is Status.DRAFT


def test_a_request_in_servers_counts_whole_servers_of_gpus() -> None:
    app = an_application(p3_form(gpus_requested=None, servers_requested=2))
    assert app.gpus_requested == 16


def test_form_and_call_problems_are_reported_together() -> None:
    with pytest.raises(InvalidInput) as error:
        an_application(p1_form(gpus_requested=17, call_id=None))
    assert [field for field, _ in error.value.problems] == ["gpus_requested", "call_id"]


def test_outcomes_arriving_out_of_order_never_move_the_status_back() -> None:
    app = an_application()
    assert app.advance(Status.ACTIVE, "allocated", NOW)
    assert not app.advance(Status.SCORED, "late score", NOW)
    assert not app.advance(Status.IN_REVIEW, "late review", NOW)
    assert app.status is Status.ACTIVE


def test_the_life_cycle_moves_through_review_scoring_and_selection() -> None:
    app = an_application()
    for status in (Status.IN_REVIEW, Status.SCORED, Status.WAITLISTED, Status.SELECTED, Status.ACTIVE,
                   Status.COMPLETED):
        assert app.advance(status, "", NOW), status
    assert app.status is Status.COMPLETED


def test_a_waitlisted_application_may_be_offered_capacity_and_accept_it_on_the_way_to_active() -> None:
    app = an_application()
    for status in (Status.WAITLISTED, Status.OFFERED, Status.ACCEPTED, Status.ACTIVE):
        assert app.advance(status, "", NOW), status
    assert not app.advance(Status.OFFERED, "a late offer", NOW)
    assert app.status is Status.ACTIVE


def test_an_offered_application_may_end_declined_and_stays_so() -> None:
    app = an_application()
    for status in (Status.WAITLISTED, Status.OFFERED, Status.DECLINED):
        assert app.advance(status, "", NOW), status
    assert not app.advance(Status.ACTIVE, "a late allocation", NOW)


def test_a_repeated_outcome_changes_nothing() -> None:
    app = an_application()
    assert app.advance(Status.SCORED, "score 80", NOW)
    assert not app.advance(Status.SCORED, "score 80", NOW)


def test_an_outcome_for_a_draft_changes_nothing() -> None:
    app = an_application(submit=False)
    assert not app.advance(Status.SCORED, "score 80", NOW)
    assert app.status is Status.DRAFT


@pytest.mark.parametrize("status", [Status.DRAFT, Status.SUBMITTED, Status.IN_REVIEW, Status.SCORED,
                                    Status.WAITLISTED, Status.SELECTED, Status.OFFERED, Status.ACCEPTED,
                                    Status.ACTIVE])
def test_an_application_can_be_withdrawn_from_every_status_that_is_not_final(status: Status) -> None:
    app = an_application(submit=status is not Status.DRAFT)
    if status not in (Status.DRAFT, Status.SUBMITTED):
        app.advance(status, "", NOW)
    app.withdraw("plans changed", NOW)
    assert app.status is Status.WITHDRAWN


@pytest.mark.parametrize("status", [Status.REJECTED, Status.RECLAIMED, Status.COMPLETED, Status.WITHDRAWN,
                                    Status.DECLINED])
def test_a_final_application_cannot_be_withdrawn(status: Status) -> None:
    app = an_application()
    app.advance(status, "", NOW)
    with pytest.raises(InvalidTransition):
        app.withdraw("changed plans", NOW)


@pytest.mark.parametrize(("at", "birth", "refused"), [
    (datetime(2026, 11, 27, 16, 0, tzinfo=UTC), date(2026, 11, 28), False),  # 01:00 on the 28th in Korea: today
    (datetime(2026, 11, 27, 16, 0, tzinfo=UTC), date(2026, 11, 29), True),
    (datetime(2026, 11, 27, 14, 59, tzinfo=UTC), date(2026, 11, 28), True),  # 23:59 on the 27th in Korea
])
def test_in_the_future_means_after_today_on_koreas_calendar(at: datetime, birth: date, refused: bool) -> None:
    company = Company("1234567891", "startup", "Busan", birth)
    form = p1_form(company=company)
    if not refused:
        app = model.new_application(uuid4(), uuid4(), form, program=P1, call=CALL, at=at, limits=Limits(), submit=True)
        assert app.status is Status.SUBMITTED
        return
    with pytest.raises(InvalidInput) as raised:
        model.new_application(uuid4(), uuid4(), form, program=P1, call=CALL, at=at, limits=Limits(), submit=True)
    assert [path for path, _ in raised.value.problems] == ["company.representative_birth_date"]
