"""Input that cannot hurt, at intake's door: a date beyond the calendar bounds or the configured horizon, an integer
no column holds, a control character in a name. Each is a 422 naming the field, and nothing is stored or published."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from intake.config import FormSettings
from support.auth import OPERATOR
from support.stack import Stack

Form = Callable[..., dict[str, Any]]
Stored = Callable[[], Awaitable[dict[str, int]]]
APPLICANT = {"name": "Dr. Kim", "sector": "academia", "institution": "KAIST", "region": "Daejeon"}

# (overrides of a valid P3 form, the field the refusal names, words of its reason)
REFUSED: dict[str, tuple[dict[str, Any], str, str]] = {
    "period-ending-in-9999": ({"period_end": "9999-12-31"}, "period_end", "2199-12-31"),
    "earliest-start-in-9999": ({"earliest_start": "9999-12-01"}, "earliest_start", "2199-12-31"),
    "period-starting-in-year-1": ({"period_start": "0001-01-01"}, "period_start", "1900-01-01"),
    "period-past-the-ten-year-horizon": ({"period_end": "2150-01-31"}, "period_end", "more than 10 years ahead"),
    "planned-hours-beyond-a-32-bit-integer": ({"planned_gpu_hours_per_month": 2**31}, "planned_gpu_hours_per_month",
                                              "2147483647"),
    "gpus-beyond-a-32-bit-integer": ({"gpus_requested": 2**31}, "gpus_requested", "2147483647"),
    "nul-in-the-applicant-name": ({"applicant": {**APPLICANT, "name": "Dr.\x00Kim"}}, "applicant.name",
                                  "must not contain control characters"),
    "escape-in-the-institution": ({"applicant": {**APPLICANT, "institution": "KAIST\x1b"}},
                                  "applicant.institution", "must not contain control characters"),
    "nul-in-the-purpose": ({"purpose": "fine-tuning\x00"}, "purpose", "control characters other than tab"),
}


@pytest.mark.parametrize("overrides,field,reason", REFUSED.values(), ids=REFUSED.keys())
async def test_a_p3_form_out_of_bounds_is_refused_naming_the_field_and_nothing_is_stored_or_published(
        stack: Stack, a_form: Form, partner: dict[str, str], stored: Stored, overrides: dict[str, Any], field: str,
        reason: str) -> None:
    async with stack.api("intake") as api:
        response = await api.post("/applications", json=a_form("P3", **overrides),
                                  headers={**partner, "Idempotency-Key": "bounds-1"})
    assert response.status_code == 422, response.text
    named = {e["field"]: e["reason"] for e in response.json()["errors"]}
    assert field in named and reason in named[field], named
    assert set((await stored()).values()) == {0}


async def test_the_horizon_of_planned_dates_is_a_setting(stack: Stack, a_form: Form, partner: dict[str, str]) -> None:
    body = a_form("P3", period_end="2040-01-31")
    async with stack.api("intake") as api:
        refused = await api.post("/applications", json=body, headers=partner)
    async with stack.api("intake", forms=FormSettings(max_years_ahead=20)) as api:
        accepted = await api.post("/applications", json=body, headers=partner)
    assert [e["field"] for e in refused.json()["errors"]] == ["period_end"]
    assert accepted.status_code == 201, accepted.text


async def test_a_purpose_may_hold_line_breaks_and_tabs(stack: Stack, a_form: Form, partner: dict[str, str]) -> None:
    purpose = "fine-tuning a Korean LLM:\r\n\t1. data\n\t2. training"
    async with stack.api("intake") as api:
        response = await api.post("/applications", json=a_form("P3", purpose=purpose), headers=partner)
    assert response.status_code == 201, response.text
    assert response.json()["purpose"] == purpose


async def test_a_call_closing_in_the_year_9999_is_refused_naming_closes_at(stack: Stack) -> None:
    async with stack.api("intake") as api:
        response = await api.post("/calls", json={"program": "P1", "title": "round", "opens_at": "2026-12-01T00:00Z",
                                                  "closes_at": "9999-12-31T23:00:00-05:00"}, headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["closes_at"]


@pytest.mark.parametrize(("body", "field"), [
    ({"role": "partner", "name": "Portal\x00"}, "name"),
    ({"role": "csp", "name": "A CSP", "subject": "gov\x1bdc"}, "subject"),
    ({"role": "partner", "name": "Portal", "scopes": ["read\x00"]}, "scopes.0"),
], ids=["nul-in-name", "escape-in-subject", "nul-in-a-scope"])
async def test_a_client_with_control_characters_is_refused_naming_the_field(
        stack: Stack, body: dict[str, Any], field: str) -> None:
    async with stack.api("intake") as api:
        before = await stack.count("intake.client")
        response = await api.post("/clients", json=body, headers=OPERATOR)
        listed = await api.get("/clients", params={"after": "x\x00"}, headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert (listed.status_code, listed.json()["errors"][0]["field"]) == (422, "query.after")
    assert await stack.count("intake.client") == before
