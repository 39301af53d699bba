"""The three forms at the door, on the real database: each broken rule is named, and nothing is stored or published."""
from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from intake.config import FormSettings
from intake.domain.forms import PROGRAM_ZONE
from support.stack import Stack

Form = Callable[..., dict[str, Any]]
TOMORROW = object()  # replaced as the form is sent (a form still holding it cannot be sent), even across midnight
COMPANY = {"business_registration_number": "1234567891", "size": "startup", "head_office_region": "Busan",
           "representative_birth_date": "1992-03-14"}
RESEARCHER = {"institution_type": "university", "appointment_date": "2022-03-01", "birth_date": "1988-07-21"}
BIOCO = {"name": "BioCo", "size": "mid", "business_registration_number": "1234567891", "project_share_bp": 6000}
NAVER = {"name": "Naver Cloud", "size": "large", "business_registration_number": "2208162517", "project_share_bp": 4000}

# (program, overrides, the fields the refusal must name); a None override removes the field
BROKEN_RULES: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "p1-seventeen-gpus": ("P1", {"gpus_requested": 17}, ["gpus_requested"]),
    "p1-zero-gpus": ("P1", {"gpus_requested": 0}, ["gpus_requested"]),
    "p1-a-request-in-servers": ("P1", {"servers_requested": 1}, ["servers_requested"]),
    "p1-no-company": ("P1", {"company": None}, ["company"]),
    "p1-no-training-data-scale": ("P1", {"training_data_scale": None}, ["training_data_scale"]),
    "p1-registration-number-not-ten-digits": (
        "P1", {"company": {**COMPANY, "business_registration_number": "123-45-6789"}},
        ["company.business_registration_number"]),
    "p1-registration-number-failing-its-check-digit": (
        "P1", {"company": {**COMPANY, "business_registration_number": "1234567890"}},
        ["company.business_registration_number"]),
    "p1-company-neither-small-nor-startup": ("P1", {"company": {**COMPANY, "size": "large"}}, ["company.size"]),
    "p1-unknown-head-office-region": (
        "P1", {"company": {**COMPANY, "head_office_region": "Atlantis"}}, ["company.head_office_region"]),
    "p1-representative-born-tomorrow": (
        "P1", {"company": {**COMPANY, "representative_birth_date": TOMORROW}},
        ["company.representative_birth_date"]),
    "p1-no-call": ("P1", {"call_id": None}, ["call_id"]),
    "p2-a-request-in-single-gpus": ("P2", {"gpus_requested": 12}, ["gpus_requested"]),
    "p2-zero-servers": ("P2", {"servers_requested": 0}, ["servers_requested"]),
    "p2-no-servers": ("P2", {"servers_requested": None}, ["servers_requested"]),
    "p2-no-researcher": ("P2", {"researcher": None}, ["researcher"]),
    "p2-researcher-born-tomorrow": (
        "P2", {"researcher": {**RESEARCHER, "birth_date": TOMORROW, "appointment_date": "2022-03-01"}},
        ["researcher.birth_date", "researcher.appointment_date"]),
    "p2-appointed-tomorrow": (
        "P2", {"researcher": {**RESEARCHER, "appointment_date": TOMORROW}}, ["researcher.appointment_date"]),
    "p2-appointed-before-birth": (
        "P2", {"researcher": {**RESEARCHER, "appointment_date": "1980-01-01"}}, ["researcher.appointment_date"]),
    "p2-unknown-institution-type": (
        "P2", {"researcher": {**RESEARCHER, "institution_type": "hospital"}}, ["researcher.institution_type"]),
    "p2-unknown-participant-size": (
        "P2", {"corporate_participants": [{"name": "BioCo", "size": "huge"}]}, ["corporate_participants.0.size"]),
    "p2-participant-share-of-nothing": (
        "P2", {"corporate_participants": [{**BIOCO, "project_share_bp": 0}]},
        ["corporate_participants.0.project_share_bp"]),
    "p2-participant-share-beyond-the-whole": (
        "P2", {"corporate_participants": [NAVER, {**BIOCO, "project_share_bp": 10_001}]},
        ["corporate_participants.1.project_share_bp"]),
    "p2-participant-share-not-a-whole-number": (
        "P2", {"corporate_participants": [{**BIOCO, "project_share_bp": 2500.5}]},
        ["corporate_participants.0.project_share_bp"]),
    "p2-participant-registration-number-with-dashes": (
        "P2", {"corporate_participants": [{**BIOCO, "business_registration_number": "123-45-67890"}]},
        ["corporate_participants.0.business_registration_number"]),
    "p2-participant-registration-number-failing-its-check-digit": (
        "P2", {"corporate_participants": [NAVER, {**BIOCO, "business_registration_number": "2208162518"}]},
        ["corporate_participants.1.business_registration_number"]),
    "p2-shares-on-some-participants-only": (
        "P2", {"corporate_participants": [BIOCO, {**NAVER, "project_share_bp": None}]},
        ["corporate_participants.1.project_share_bp"]),
    "p2-shares-beyond-the-whole-project": (
        "P2", {"corporate_participants": [BIOCO, {**NAVER, "project_share_bp": 4001}]}, ["corporate_participants"]),
    "p2-a-registration-number-twice": (
        "P2", {"corporate_participants": [BIOCO, {**NAVER, "business_registration_number": "1234567891"}]},
        ["corporate_participants.1.business_registration_number"]),
    "p3-naming-a-call": ("P3", {"call_id": "00000000-0000-4000-8000-000000000000"}, ["call_id"]),
    "p3-gpus-and-servers": ("P3", {"servers_requested": 1}, ["servers_requested"]),
    "p3-neither-gpus-nor-servers": ("P3", {"gpus_requested": None}, ["gpus_requested"]),
    "p3-a-five-month-window": ("P3", {"acceptable_window_months": 5}, ["acceptable_window_months"]),
    "p3-a-zero-month-window": ("P3", {"acceptable_window_months": 0}, ["acceptable_window_months"]),
    "p3-no-earliest-start": ("P3", {"earliest_start": None}, ["earliest_start"]),
    "p3-a-period-too-short-for-the-window": ("P3", {"period_end": "2027-02-27"}, ["period_end"]),
    "p3-a-period-before-the-earliest-start": ("P3", {"period_start": "2026-11-30"}, ["period_start"]),
    "any-unknown-applicant-region": (
        "P3", {"applicant": {"name": "A", "sector": "academia", "institution": "K", "region": "Tokyo"}},
        ["applicant.region"]),
    "any-period-ending-before-it-starts": (
        "P3", {"period_start": "2027-01-10", "period_end": "2027-01-05"}, ["period_end"]),
    "unknown-program": ("P3", {"program": "P4"}, ["program"]),
    "no-program": ("P3", {"program": None}, ["program"]),
}


def dated(value: Any) -> Any:
    """The overrides with TOMORROW as a date, computed now rather than when the module was collected, on the
    programs' calendar (Korea's: from 15:00 UTC on, UTC's tomorrow is Korea's today)."""
    if value is TOMORROW:
        return (datetime.now(PROGRAM_ZONE) + timedelta(days=1)).date().isoformat()
    if isinstance(value, dict):
        return {k: dated(v) for k, v in value.items()}
    if isinstance(value, list):
        return [dated(v) for v in value]
    return value


@pytest.mark.parametrize("program,overrides,named", BROKEN_RULES.values(), ids=BROKEN_RULES.keys())
async def test_a_form_breaking_a_rule_is_refused_naming_each_field_and_nothing_is_stored(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: Callable[..., Awaitable[dict[str, Any]]],
        stored: Callable[[], Awaitable[dict[str, int]]], program: str, overrides: dict[str, Any],
        named: list[str]) -> None:
    async with stack.api("intake") as api:
        call = await open_call(api, program) if program != "P3" else None
        body = a_form(program, **({"call_id": call["id"]} if call else {}))
        body = {k: v for k, v in {**body, **dated(overrides)}.items() if v is not None}
        response = await api.post("/applications", json=body, headers={**partner, "Idempotency-Key": "k-1"})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == named
    assert all(e["reason"] for e in problem["errors"])
    assert set((await stored()).values()) == {0}


async def test_p1_counts_servers_of_the_configured_size(stack: Stack, a_form: Form, partner: dict[str, str],
                                                        open_call: Callable[..., Awaitable[dict[str, Any]]]) -> None:
    async with stack.api("intake", forms=FormSettings(server_gpus=4)) as api:
        call = await open_call(api, "P1")
        nine = await api.post("/applications", json=a_form("P1", call_id=call["id"], gpus_requested=9),
                              headers=partner)
        eight = await api.post("/applications", json=a_form("P1", call_id=call["id"], gpus_requested=8),
                               headers=partner)
    assert nine.status_code == 422
    assert "at most 2 servers of 4" in nine.json()["errors"][0]["reason"]
    assert eight.status_code == 201


async def test_a_p1_form_is_stored_and_published_with_its_company(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: Callable[..., Awaitable[dict[str, Any]]],
        outbox: Callable[[], Awaitable[list[dict[str, Any]]]]) -> None:
    async with stack.api("intake") as api:
        call = await open_call(api, "P1")
        created = await api.post("/applications", json=a_form("P1", call_id=call["id"]), headers=partner)
        fetched = (await api.get(f"/applications/{created.json()['id']}", headers=partner)).json()
    assert created.status_code == 201, created.text
    assert fetched["company"]["representative_birth_date"] == "1992-03-14"
    (event,) = await outbox()
    assert event["call_id"] == call["id"]
    assert event["company"] == {"business_registration_number": "1234567891", "size": "startup",
                                "head_office_region": "Busan", "representative_birth_date": "1992-03-14"}
    assert (event["gpus_requested"], event["training_data_scale"]) == (8, "200 GB of text")


async def test_a_p2_form_asks_for_whole_servers_and_publishes_them_in_gpus(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: Callable[..., Awaitable[dict[str, Any]]],
        outbox: Callable[[], Awaitable[list[dict[str, Any]]]]) -> None:
    async with stack.api("intake") as api:
        call = await open_call(api, "P2")
        created = await api.post("/applications", json=a_form("P2", call_id=call["id"]), headers=partner)
    assert created.status_code == 201, created.text
    assert (created.json()["gpus_requested"], created.json()["servers_requested"]) == (16, 2)
    (event,) = await outbox()
    assert (event["gpus_requested"], event["servers_requested"], event["open_source"]) == (16, 2, True)
    assert event["researcher"] == {"institution_type": "university", "appointment_date": "2022-03-01",
                                   "birth_date": "1988-07-21"}
    assert event["corporate_participants"] == [{"name": "BioCo", "size": "mid", "business_registration_number": None,
                                                "project_share_bp": None}]


async def test_p2_participants_registration_numbers_and_shares_are_stored_returned_and_published(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: Callable[..., Awaitable[dict[str, Any]]],
        outbox: Callable[[], Awaitable[list[dict[str, Any]]]]) -> None:
    async with stack.api("intake") as api:
        call = await open_call(api, "P2")
        body = a_form("P2", call_id=call["id"], open_source=False, corporate_participants=[BIOCO, NAVER])
        created = await api.post("/applications", json=body, headers=partner)
        fetched = (await api.get(f"/applications/{created.json()['id']}", headers=partner)).json()
        listed = (await api.get("/applications", headers=partner)).json()["items"]
    assert created.status_code == 201, created.text
    assert created.json()["corporate_participants"] == fetched["corporate_participants"] == [BIOCO, NAVER]
    assert listed[0]["corporate_participants"] == [BIOCO, NAVER]
    (row,) = await stack.fetch("SELECT details FROM intake.application WHERE id = $1", uuid.UUID(fetched["id"]))
    assert json.loads(row["details"])["corporate_participants"] == [BIOCO, NAVER]
    (event,) = await outbox()
    assert (event["type"], event["open_source"]) == ("intake.application_submitted.v1", False)
    assert event["corporate_participants"] == [BIOCO, NAVER]


async def test_a_p2_draft_submitted_later_publishes_its_participants_shares(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: Callable[..., Awaitable[dict[str, Any]]],
        outbox: Callable[[], Awaitable[list[dict[str, Any]]]]) -> None:
    async with stack.api("intake") as api:
        call = await open_call(api, "P2")
        body = a_form("P2", call_id=call["id"], corporate_participants=[BIOCO, NAVER], submit=False)
        draft = await api.post("/applications", json=body, headers=partner)
        assert await outbox() == []
        submitted = await api.post(f"/applications/{draft.json()['id']}/submit", headers=partner)
    assert submitted.status_code == 200, submitted.text
    (event,) = await outbox()
    assert event["corporate_participants"] == [BIOCO, NAVER]


async def test_p2_participants_without_numbers_or_shares_are_accepted_and_published_without_them(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: Callable[..., Awaitable[dict[str, Any]]],
        outbox: Callable[[], Awaitable[list[dict[str, Any]]]]) -> None:
    """No share on any participant: billing splits the project equally among them."""
    participants = [{"name": "BioCo", "size": "mid"}, {"name": "Naver Cloud", "size": "large"}]
    async with stack.api("intake") as api:
        call = await open_call(api, "P2")
        created = await api.post("/applications", json=a_form("P2", call_id=call["id"],
                                                                corporate_participants=participants), headers=partner)
    assert created.status_code == 201, created.text
    (event,) = await outbox()
    assert event["corporate_participants"] == [{**p, "business_registration_number": None, "project_share_bp": None}
                                               for p in participants]


async def test_an_application_stored_before_participants_had_numbers_and_shares_reads_with_neither(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: Callable[..., Awaitable[dict[str, Any]]],
        ) -> None:
    async with stack.api("intake") as api:
        call = await open_call(api, "P2")
        created = await api.post("/applications", json=a_form("P2", call_id=call["id"]), headers=partner)
        # the details as they were stored before: a participant had a name and a size only
        await stack.fetch("UPDATE intake.application SET details = jsonb_set(details, '{corporate_participants}', "
                          """'[{"name": "BioCo", "size": "mid"}]') WHERE id = $1""", uuid.UUID(created.json()["id"]))
        fetched = await api.get(f"/applications/{created.json()['id']}", headers=partner)
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["corporate_participants"] == [
        {"name": "BioCo", "size": "mid", "business_registration_number": None, "project_share_bp": None}]


async def test_a_p3_form_in_servers_publishes_its_window(stack: Stack, a_form: Form, partner: dict[str, str],
                                                        outbox: Callable[[], Awaitable[list[dict[str, Any]]]],
                                                        ) -> None:
    body = a_form("P3", gpus_requested=None, servers_requested=1, acceptable_window_months=4,
                  period_end="2027-04-01")
    async with stack.api("intake") as api:
        created = await api.post("/applications", json=body, headers=partner)
    assert created.status_code == 201, created.text
    (event,) = await outbox()
    assert (event["gpus_requested"], event["servers_requested"]) == (8, 1)
    assert (event["earliest_start"], event["acceptable_window_months"], event["call_id"]) == ("2026-12-01", 4, None)


async def test_a_registration_number_with_a_wrong_check_digit_is_refused_saying_so(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: Callable[..., Awaitable[dict[str, Any]]],
        stored: Callable[[], Awaitable[dict[str, int]]]) -> None:
    async with stack.api("intake") as api:
        call = await open_call(api, "P1")
        company = {**COMPANY, "business_registration_number": "1234567890"}  # its check digit is 1
        response = await api.post("/applications", json=a_form("P1", call_id=call["id"], company=company),
                                  headers=partner)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "company.business_registration_number"
    assert "wrong check digit" in error["reason"]
    assert set((await stored()).values()) == {0}
