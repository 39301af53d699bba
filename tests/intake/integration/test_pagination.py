"""Cursor pagination and filters on the list endpoints, on the real database."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from support.auth import OPERATOR, bearer
from support.stack import Stack

Form = Callable[..., dict[str, Any]]
OpenCall = Callable[..., Awaitable[dict[str, Any]]]


async def every_page(api: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None,
                     **params: Any) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await api.get(url, params=query, headers=headers or {})
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages


async def test_applications_come_newest_first_in_pages_that_cover_each_once(
        stack: Stack, a_form: Form, partner: dict[str, str]) -> None:
    async with stack.api("intake") as api:
        ids = [(await api.post("/applications", json=a_form("P3"), headers=partner)).json()["id"]
               for _ in range(5)]
        await api.post("/applications", json=a_form("P3"), headers=bearer("partner"))
        pages = await every_page(api, "/applications", partner, limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [a["id"] for page in pages for a in page] == list(reversed(ids))


async def test_a_page_exactly_at_the_end_says_there_is_no_next_one(stack: Stack, a_form: Form,
                                                                   partner: dict[str, str]) -> None:
    async with stack.api("intake") as api:
        for _ in range(2):
            await api.post("/applications", json=a_form("P3"), headers=partner)
        page = (await api.get("/applications", params={"limit": 2}, headers=partner)).json()
    assert len(page["items"]) == 2
    assert page["next_cursor"] is None


async def test_applications_filter_by_program_call_and_status(stack: Stack, a_form: Form,
                                                              partner: dict[str, str],
                                                              open_call: OpenCall) -> None:
    async with stack.api("intake") as api:
        first, second = await open_call(api, "P1"), await open_call(api, "P1")
        in_first = [(await api.post("/applications", json=a_form("P1", call_id=first["id"]), headers=partner))
                    .json()["id"] for _ in range(3)]
        await api.post("/applications", json=a_form("P1", call_id=second["id"]), headers=partner)
        draft = (await api.post("/applications", json=a_form("P3", submit=False), headers=partner)).json()["id"]
        by_call = await every_page(api, "/applications", partner, call_id=first["id"], limit=2)
        p1 = await every_page(api, "/applications", partner, program="P1")
        drafts = await every_page(api, "/applications", partner, status="draft")
        p1_drafts = await every_page(api, "/applications", partner, status="draft", program="P1")
    assert sorted(a["id"] for page in by_call for a in page) == sorted(in_first)
    assert len([a for page in p1 for a in page]) == 4
    assert [a["id"] for page in drafts for a in page] == [draft]
    assert p1_drafts == [[]]


async def test_calls_come_latest_opening_first_and_filter_by_program_and_status(
        stack: Stack, open_call: OpenCall, partner: dict[str, str]) -> None:
    now = datetime.now(UTC)
    async with stack.api("intake") as api:
        calls = [await open_call(api, program, opens_at=(now - timedelta(days=day)).isoformat())
                 for day, program in enumerate(["P1", "P2", "P1", "P2", "P1"])]
        await api.post(f"/calls/{calls[0]['id']}/close", headers=OPERATOR)
        everything = await every_page(api, "/calls", partner, limit=2)
        p1 = await every_page(api, "/calls", partner, program="P1")
        open_p1 = await every_page(api, "/calls", partner, program="P1", status="open")
    assert [c["id"] for page in everything for c in page] == [c["id"] for c in calls]
    assert [c["id"] for c in p1[0]] == [calls[0]["id"], calls[2]["id"], calls[4]["id"]]
    assert [c["id"] for c in open_p1[0]] == [calls[2]["id"], calls[4]["id"]]


FOREIGN_CURSORS = {
    "garbage": "not-a-cursor",
    "not-a-time": "WyJ4IiwgInkiXQ",  # ["x", "y"]
    "a-time-without-a-zone": "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgIjAwMDAwMDAwLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMCJd",
}


@pytest.mark.parametrize("cursor", FOREIGN_CURSORS.values(), ids=FOREIGN_CURSORS.keys())
async def test_a_cursor_the_api_did_not_issue_is_refused_naming_it(stack: Stack, partner: dict[str, str],
                                                                   cursor: str) -> None:
    async with stack.api("intake") as api:
        applications = await api.get("/applications", params={"cursor": cursor}, headers=partner)
        calls = await api.get("/calls", params={"cursor": cursor}, headers=partner)
    for response in (applications, calls):
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["cursor"]


@pytest.mark.parametrize("limit", [0, 201])
async def test_a_page_size_outside_one_to_two_hundred_is_refused(stack: Stack, partner: dict[str, str],
                                                                 limit: int) -> None:
    async with stack.api("intake") as api:
        response = await api.get("/applications", params={"limit": limit}, headers=partner)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["query.limit"]
