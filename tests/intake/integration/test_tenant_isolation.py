"""Two partners over every endpoint: each sees and changes only what it submitted or registered; the other's ids are
not found."""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from support.auth import bearer
from support.stack import Stack

# what the stranger tries on the partner's things: (method, url template, body)
ENDPOINTS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "read-an-application": ("get", "/applications/{submitted}", None),
    "submit-a-draft": ("post", "/applications/{draft}/submit", None),
    "withdraw-an-application": ("post", "/applications/{submitted}/withdraw", {"reason": "not mine"}),
    "accept-an-offer": ("post", "/applications/{offered}/offer/accept", {}),
    "decline-an-offer": ("post", "/applications/{offered}/offer/decline", {"reason": "not mine"}),
    "remove-a-webhook": ("delete", "/webhooks/{webhook}", None),
    "read-a-delivery-log": ("get", "/webhooks/{webhook}/deliveries", None),
}


async def partners_things(api: httpx.AsyncClient, partner: dict[str, str], a_form: Any,
                          make_offer: Any) -> dict[str, str]:
    webhook = (await api.post("/webhooks", json={"url": "https://93.184.215.14/hook"}, headers=partner)).json()
    draft = (await api.post("/applications", json=a_form("P3", submit=False), headers=partner)).json()
    submitted = (await api.post("/applications", json=a_form("P3"), headers=partner)).json()
    offered = (await api.post("/applications", json=a_form("P3"), headers=partner)).json()
    await make_offer(offered["id"])
    return {"webhook": webhook["id"], "draft": draft["id"], "submitted": submitted["id"], "offered": offered["id"]}


async def snapshot(stack: Stack) -> list[Any]:
    return [await stack.fetch("SELECT id, status FROM intake.application ORDER BY id"),
            await stack.fetch("SELECT id, removed_at FROM intake.webhook ORDER BY id"),
            await stack.fetch("SELECT id, state FROM intake.offer ORDER BY id"),
            await stack.count("intake.webhook_delivery"), await stack.count("intake.outbox")]


@pytest.mark.parametrize("endpoint", ENDPOINTS.keys())
async def test_another_partners_application_or_webhook_is_not_found_and_stays_as_it_was(
        stack: Stack, a_form: Any, partner: dict[str, str], make_offer: Any, endpoint: str) -> None:
    method, template, body = ENDPOINTS[endpoint]
    async with stack.api("intake") as api:
        ids = await partners_things(api, partner, a_form, make_offer)
        before = await snapshot(stack)
        response = await api.request(method, template.format(**ids), json=body, headers=bearer("partner"))
        after = await snapshot(stack)
        own = await api.request(method, template.format(**ids), json=body, headers=partner)
    assert response.status_code == 404, response.text
    assert after == before
    assert own.status_code in (200, 204), own.text  # the same request is the owner's to make


async def test_lists_show_a_partner_only_its_own_applications_and_webhooks(
        stack: Stack, a_form: Any, partner: dict[str, str], make_offer: Any) -> None:
    stranger = bearer("partner")
    async with stack.api("intake") as api:
        mine = await partners_things(api, partner, a_form, make_offer)
        theirs = await partners_things(api, stranger, a_form, make_offer)
        lists = {who: [(await api.get(url, headers=headers)).json()["items"] for url in ("/applications", "/webhooks")]
                 for who, headers in (("mine", partner), ("theirs", stranger))}
    for who, ids in (("mine", mine), ("theirs", theirs)):
        applications, webhooks = lists[who]
        assert sorted(a["id"] for a in applications) == sorted([ids["draft"], ids["submitted"], ids["offered"]])
        assert [w["id"] for w in webhooks] == [ids["webhook"]]


async def test_what_a_partner_creates_is_its_own_whatever_the_body_says(stack: Stack, a_form: Any,
                                                                       partner: dict[str, str],
                                                                       partner_id: Any) -> None:
    async with stack.api("intake") as api:
        smuggled = await api.post("/applications", json={**a_form("P3"), "partner_id": "someone-else"},
                                  headers=partner)
        created = await api.post("/applications", json=a_form("P3"), headers=partner)
        webhook = await api.post("/webhooks", json={"url": "https://93.184.215.14/hook"}, headers=partner)
    assert smuggled.status_code == 422  # the form has no such field
    assert created.json()["partner_id"] == webhook.json()["partner_id"] == str(partner_id)
