"""A draft is its partner's to edit until it is submitted (`PUT /applications/{id}`), on the real database."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from support.auth import bearer
from support.stack import Stack

Form = Callable[..., dict[str, Any]]
OpenCall = Callable[..., Awaitable[dict[str, Any]]]
Outbox = Callable[[], Awaitable[list[dict[str, Any]]]]


async def test_a_partner_edits_its_draft_which_stays_a_draft_and_is_published_to_nobody(
        stack: Stack, a_form: Form, partner: dict[str, str], outbox: Outbox) -> None:
    async with stack.api("intake") as api:
        draft = (await api.post("/applications", json=a_form("P3", submit=False), headers=partner)).json()
        edited = await api.put(f"/applications/{draft['id']}", headers=partner,
                               json=a_form("P3", gpus_requested=None, servers_requested=1, purpose="a bigger run"))
        fetched = (await api.get(f"/applications/{draft['id']}", headers=partner)).json()
    assert edited.status_code == 200, edited.text
    assert (edited.json()["status"], edited.json()["purpose"], edited.json()["gpus_requested"]) == (
        "draft", "a bigger run", 8)
    assert (fetched["purpose"], fetched["servers_requested"], fetched["created_at"]) == (
        "a bigger run", 1, draft["created_at"])
    assert fetched["updated_at"] >= draft["updated_at"]
    assert [h["status"] for h in fetched["history"]] == ["draft"]
    assert await outbox() == []


async def test_an_edit_may_change_the_program_and_submit_the_draft_at_once(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: OpenCall, outbox: Outbox) -> None:
    async with stack.api("intake") as api:
        call = await open_call(api, "P1")
        draft = (await api.post("/applications", json=a_form("P3", submit=False), headers=partner)).json()
        edited = await api.put(f"/applications/{draft['id']}", headers=partner,
                               json=a_form("P1", call_id=call["id"], submit=True))
    assert edited.status_code == 200, edited.text
    assert (edited.json()["program"], edited.json()["status"]) == ("P1", "submitted")
    [event] = await outbox()
    assert (event["type"], event["application_id"], event["program"]) == (
        "intake.application_submitted.v1", draft["id"], "P1")


async def test_an_edit_breaking_a_rule_is_refused_naming_the_field_and_changes_nothing(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: OpenCall, outbox: Outbox) -> None:
    async with stack.api("intake") as api:
        call = await open_call(api, "P1")
        draft = (await api.post("/applications", json=a_form("P3", submit=False), headers=partner)).json()
        company = {**a_form("P1")["company"], "business_registration_number": "1234567890"}
        bad_number = await api.put(f"/applications/{draft['id']}", headers=partner,
                                   json=a_form("P1", call_id=call["id"], company=company))
        bad_window = await api.put(f"/applications/{draft['id']}", headers=partner,
                                   json=a_form("P3", acceptable_window_months=5))
        unknown_field = await api.put(f"/applications/{draft['id']}", headers=partner,
                                      json=a_form("P3", colour="blue"))
        fetched = (await api.get(f"/applications/{draft['id']}", headers=partner)).json()
    assert [e["field"] for e in bad_number.json()["errors"]] == ["company.business_registration_number"]
    assert "check digit" in bad_number.json()["errors"][0]["reason"]
    assert [e["field"] for e in bad_window.json()["errors"]] == ["acceptable_window_months"]
    assert [e["field"] for e in unknown_field.json()["errors"]] == ["colour"]
    assert {r.status_code for r in (bad_number, bad_window, unknown_field)} == {422}
    assert {k: v for k, v in fetched.items() if k != "history"} == {k: v for k, v in draft.items() if k != "history"}
    assert await outbox() == []


async def test_a_submitted_application_cannot_be_edited(stack: Stack, a_form: Form, partner: dict[str, str],
                                                        outbox: Outbox) -> None:
    async with stack.api("intake") as api:
        submitted = (await api.post("/applications", json=a_form("P3"), headers=partner)).json()
        edited = await api.put(f"/applications/{submitted['id']}", json=a_form("P3", purpose="other"),
                               headers=partner)
        fetched = (await api.get(f"/applications/{submitted['id']}", headers=partner)).json()
    assert edited.status_code == 409
    assert "only a draft can be edited" in edited.json()["detail"]
    assert fetched["purpose"] == submitted["purpose"]
    assert [e["type"] for e in await outbox()] == ["intake.application_submitted.v1"]


async def test_another_partners_draft_is_not_found_and_an_operator_may_not_edit_it(
        stack: Stack, a_form: Form, partner: dict[str, str]) -> None:
    async with stack.api("intake") as api:
        draft = (await api.post("/applications", json=a_form("P3", submit=False), headers=partner)).json()
        by_another = await api.put(f"/applications/{draft['id']}", json=a_form("P3", purpose="x"),
                                   headers=bearer("partner"))
        by_an_operator = await api.put(f"/applications/{draft['id']}", json=a_form("P3", purpose="x"),
                                       headers=bearer("operator"))
        fetched = (await api.get(f"/applications/{draft['id']}", headers=partner)).json()
    assert (by_another.status_code, by_an_operator.status_code) == (404, 403)
    assert fetched["purpose"] == draft["purpose"]


async def test_an_edit_with_an_idempotency_key_is_replayed_and_the_key_is_not_reused_for_another_body(
        stack: Stack, a_form: Form, partner: dict[str, str], open_call: OpenCall, outbox: Outbox) -> None:
    keyed = {**partner, "Idempotency-Key": "edit-1"}
    async with stack.api("intake") as api:
        call = await open_call(api, "P1")
        draft = (await api.post("/applications", json=a_form("P3", submit=False), headers=partner)).json()
        body = a_form("P1", call_id=call["id"], submit=True)
        first = await api.put(f"/applications/{draft['id']}", json=body, headers=keyed)
        retry = await api.put(f"/applications/{draft['id']}", json=body, headers=keyed)
        other = await api.put(f"/applications/{draft['id']}", json={**body, "purpose": "x"}, headers=keyed)
        spec = (await api.get("/openapi.json")).json()
    assert (first.status_code, retry.status_code) == (200, 200), first.text
    assert retry.content == first.content and retry.headers["Idempotent-Replayed"] == "true"
    assert (other.status_code, [e["field"] for e in other.json()["errors"]]) == (422, ["Idempotency-Key"])
    assert len(await outbox()) == 1  # submitted once, though the edit that submits it was sent twice
    operation = spec["paths"]["/applications/{application_id}"]["put"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in operation["parameters"])
