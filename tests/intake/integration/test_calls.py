"""Programs and calls through the API: operators open and close P1/P2 rounds; closing hands the round on."""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import CallClosed, from_record, topics
from servicekit.auth import ROLES, Role
from support.auth import OPERATOR, bearer
from support.kafka import read_topic
from support.stack import Stack

Form = Callable[..., dict[str, Any]]
OpenCall = Callable[..., Awaitable[dict[str, Any]]]


def window(opens_in_h: float = -1, closes_in_h: float = 24) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"opens_at": (now + timedelta(hours=opens_in_h)).isoformat(),
            "closes_at": (now + timedelta(hours=closes_in_h)).isoformat()}


async def test_the_three_programs_are_data_with_their_intake_modes(stack: Stack) -> None:
    async with stack.api("intake") as api:
        programs = (await api.get("/programs", headers=bearer("reviewer"))).json()
    assert [(p["code"], p["intake_mode"]) for p in programs] == [("P1", "round"), ("P2", "round"),
                                                                 ("P3", "rolling")]


async def test_an_operator_opens_a_call_that_every_role_can_read(stack: Stack, open_call: OpenCall) -> None:
    async with stack.api("intake") as api:
        call = await open_call(api, "P2", title="2027 research round 1")
        fetched = [await api.get(f"/calls/{call['id']}", headers=bearer(role)) for role in ROLES]
    assert [f.status_code for f in fetched] == [200] * len(ROLES)
    assert all(f.json() == call for f in fetched)
    assert (call["program"], call["title"], call["status"], call["closed_at"]) == (
        "P2", "2027 research round 1", "open", None)


async def test_p3_has_no_calls_since_it_takes_applications_at_any_time(stack: Stack) -> None:
    async with stack.api("intake") as api:
        response = await api.post("/calls", json={"program": "P3", "title": "P3", **window()}, headers=OPERATOR)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["program"]
    assert "rolling" in response.json()["errors"][0]["reason"]
    assert await stack.count("intake.call") == 0


async def test_a_call_that_closes_before_it_opens_is_refused(stack: Stack) -> None:
    async with stack.api("intake") as api:
        response = await api.post("/calls", json={"program": "P1", "title": "P1", **window(24, 1)},
                                  headers=OPERATOR)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["closes_at"]
    assert await stack.count("intake.call") == 0


async def test_a_window_without_a_time_zone_is_refused(stack: Stack) -> None:
    body = {"program": "P1", "title": "P1", "opens_at": "2027-01-01T00:00:00", "closes_at": "2027-02-01T00:00:00"}
    async with stack.api("intake") as api:
        response = await api.post("/calls", json=body, headers=OPERATOR)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"opens_at", "closes_at"}


@pytest.mark.parametrize("role", ["partner", "reviewer", "csp"])
async def test_only_an_operator_opens_or_closes_a_call(stack: Stack, open_call: OpenCall, role: Role) -> None:
    headers = {**bearer(role), "Idempotency-Key": "k-1"}
    async with stack.api("intake") as api:
        call = await open_call(api, "P1")
        opened = await api.post("/calls", json={"program": "P1", "title": "P1", **window()}, headers=headers)
        closed = await api.post(f"/calls/{call['id']}/close", headers=headers)
        after = (await api.get(f"/calls/{call['id']}", headers=bearer("reviewer"))).json()
    assert (opened.status_code, closed.status_code) == (403, 403)
    assert opened.json()["title"] == "Forbidden"
    assert after["status"] == "open"
    assert await stack.count("intake.call") == 1
    assert await stack.count("intake.outbox") == 0
    assert await stack.count("intake.idempotency_key") == 0  # refused before a key was taken


async def test_a_call_is_neither_opened_nor_read_without_a_token(stack: Stack, open_call: OpenCall) -> None:
    async with stack.api("intake") as api:
        call = await open_call(api, "P1")
        opened = await api.post("/calls", json={"program": "P1", "title": "P1", **window()})
        fetched = await api.get(f"/calls/{call['id']}")
    assert (opened.status_code, fetched.status_code) == (401, 401)
    assert [e["field"] for e in opened.json()["errors"]] == ["Authorization"]
    assert await stack.count("intake.call") == 1


async def test_closing_a_round_publishes_every_application_that_was_submitted_and_not_withdrawn(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: OpenCall) -> None:
    async with stack.api("intake") as api, stack.worker("intake"):
        call = await open_call(api, "P1")
        post = [await api.post("/applications", json=a_form("P1", call_id=call["id"]), headers=partner)
                for _ in range(3)]
        kept, withdrawn, other = (r.json()["id"] for r in post)
        await api.post("/applications", json=a_form("P1", call_id=call["id"], submit=False), headers=partner)
        await api.post(f"/applications/{withdrawn}/withdraw", json={}, headers=partner)
        elsewhere = await open_call(api, "P1")
        await api.post("/applications", json=a_form("P1", call_id=elsewhere["id"]), headers=partner)
        closed = await api.post(f"/calls/{call['id']}/close", headers=OPERATOR)
        records = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.CALLS))
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["closed_at"] is not None
    (record,) = records
    event = from_record(record.headers, record.value)
    assert isinstance(event, CallClosed)
    assert (str(event.call_id), event.program, record.key.decode()) == (call["id"], "P1", call["id"])
    assert sorted(map(str, event.application_ids)) == sorted([kept, other])


async def test_closing_a_call_twice_is_a_conflict(stack: Stack, open_call: OpenCall) -> None:
    async with stack.api("intake") as api:
        call = await open_call(api, "P2")
        first = await api.post(f"/calls/{call['id']}/close", headers=OPERATOR)
        second = await api.post(f"/calls/{call['id']}/close", headers=OPERATOR)
    assert (first.status_code, second.status_code) == (200, 409)
    assert await stack.count("intake.outbox") == 1


async def test_an_unknown_call_is_not_found(stack: Stack) -> None:
    async with stack.api("intake") as api:
        fetched = await api.get(f"/calls/{uuid.uuid4()}", headers=bearer("reviewer"))
        closed = await api.post(f"/calls/{uuid.uuid4()}/close", headers=OPERATOR)
    assert (fetched.status_code, closed.status_code) == (404, 404)


@pytest.mark.parametrize("opens_in_h,closes_in_h,close_it", [(-2, 24, True), (2, 24, False), (-48, -24, False)],
                         ids=["closed-by-an-operator", "not-open-yet", "past-its-closing-time"])
async def test_a_round_application_outside_its_calls_window_is_refused_naming_call_id(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: OpenCall, opens_in_h: float,
        closes_in_h: float, close_it: bool) -> None:
    async with stack.api("intake") as api:
        call = await open_call(api, "P1", **window(opens_in_h, closes_in_h))
        if close_it:
            await api.post(f"/calls/{call['id']}/close", headers=OPERATOR)
        response = await api.post("/applications", json=a_form("P1", call_id=call["id"]), headers=partner)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["call_id"]
    assert await stack.count("intake.application") == 0


async def test_an_application_naming_another_programs_call_is_refused(stack: Stack, a_form: Form,
                                                                      partner: dict[str, str],
                                                                      open_call: OpenCall) -> None:
    async with stack.api("intake") as api:
        p2_call = await open_call(api, "P2")
        response = await api.post("/applications", json=a_form("P1", call_id=p2_call["id"]), headers=partner)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["call_id"]
    assert "no P1 call" in response.json()["errors"][0]["reason"]
