"""Programs and their calls, without a database."""
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from intake.domain.calls import Call, CallStatus, IntakeMode, Program, call_problems, open_call
from intake.domain.errors import InvalidInput, InvalidTransition
from intake.domain.forms import Applicant, Form

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
P1 = Program("P1", "HPC support", IntakeMode.ROUND)
P3 = Program("P3", "Government GPUs", IntakeMode.ROLLING)


def a_call(**overrides: object) -> Call:
    return open_call(uuid4(), P1, "round 1", **{"opens_at": NOW - timedelta(days=1),  # type: ignore[arg-type]
                                                 "closes_at": NOW + timedelta(days=7), **overrides})


def a_form(program: str, call_id: object = None) -> Form:
    return Form(program=program, applicant=Applicant("A", "industry", "X", "Busan"), gpu_model="H100",
                period_start=date(2027, 1, 1), period_end=date(2027, 2, 1), planned_gpu_hours_per_month=100,
                purpose="p", call_id=call_id)  # type: ignore[arg-type]


def test_a_rolling_program_has_no_calls() -> None:
    with pytest.raises(InvalidInput) as error:
        open_call(uuid4(), P3, "P3 round", NOW, NOW + timedelta(days=1))
    assert error.value.field == "program"


def test_a_call_must_close_after_it_opens() -> None:
    with pytest.raises(InvalidInput) as error:
        a_call(closes_at=NOW - timedelta(days=1))
    assert error.value.field == "closes_at"


def test_a_call_takes_submissions_only_inside_its_window_and_while_open() -> None:
    call = a_call()
    assert call.refusal(NOW) is None
    assert "opens at" in str(call.refusal(NOW - timedelta(days=2)))
    assert "closed at" in str(call.refusal(NOW + timedelta(days=7)))
    call.close(NOW)
    assert call.status is CallStatus.CLOSED
    assert "was closed" in str(call.refusal(NOW))


def test_a_call_closes_once() -> None:
    call = a_call()
    call.close(NOW)
    with pytest.raises(InvalidTransition):
        call.close(NOW + timedelta(minutes=1))


def test_a_round_application_must_name_an_open_call_of_its_program() -> None:
    call = a_call()
    assert call_problems(a_form("P1", call.id), P1, call, NOW) == []
    assert [f for f, _ in call_problems(a_form("P1"), P1, None, NOW)] == ["call_id"]
    assert [f for f, _ in call_problems(a_form("P1", uuid4()), P1, None, NOW)] == ["call_id"]
    p2_call = Call(uuid4(), "P2", "P2 round", call.opens_at, call.closes_at)
    assert [f for f, _ in call_problems(a_form("P1", p2_call.id), P1, p2_call, NOW)] == ["call_id"]


def test_a_draft_of_a_round_is_checked_against_the_window_only_when_submitted() -> None:
    call = a_call()
    call.close(NOW)
    assert call_problems(a_form("P1", call.id), P1, call, None) == []
    assert [f for f, _ in call_problems(a_form("P1", call.id), P1, call, NOW)] == ["call_id"]


def test_a_rolling_application_must_not_name_a_call() -> None:
    assert call_problems(a_form("P3"), P3, None, NOW) == []
    assert [f for f, _ in call_problems(a_form("P3", uuid4()), P3, None, NOW)] == ["call_id"]


def test_an_open_call_is_due_to_close_from_its_closes_at_on() -> None:
    call = a_call()
    assert not call.is_due(call.closes_at - timedelta(microseconds=1))
    assert call.is_due(call.closes_at)
    assert call.is_due(call.closes_at + timedelta(days=1))


def test_a_closed_call_is_never_due() -> None:
    call = a_call()
    call.close(NOW)
    assert not call.is_due(call.closes_at + timedelta(days=1))
