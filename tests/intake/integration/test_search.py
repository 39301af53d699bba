"""Operators list and search every partner's applications; a partner still sees only its own. On the real database,
through the API."""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from support.auth import OPERATOR, bearer
from support.stack import Stack

from .test_pagination import every_page

Form = Callable[..., dict[str, Any]]
OpenCall = Callable[..., Awaitable[dict[str, Any]]]
Pages = list[list[dict[str, Any]]]


def ids(pages: Pages) -> list[str]:
    return [a["id"] for page in pages for a in page]


async def apply(api: httpx.AsyncClient, a_form: Form, partner: dict[str, str], institution: str = "KAIST",
                region: str = "Daejeon", **overrides: Any) -> str:
    applicant = {"name": "Dr. Kim", "sector": "academia", "institution": institution, "region": region}
    response = await api.post("/applications", json=a_form("P3", applicant=applicant, **overrides), headers=partner)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_an_operator_lists_every_partners_applications_newest_first_in_pages_that_cover_each_once(
        stack: Stack, a_form: Form) -> None:
    partners = [bearer("partner") for _ in range(3)]
    async with stack.api("intake") as api:
        created = [await apply(api, a_form, partners[i % 3]) for i in range(7)]
        pages = await every_page(api, "/applications", OPERATOR, limit=3)
        own = await every_page(api, "/applications", partners[0])
    assert [len(p) for p in pages] == [3, 3, 1]
    assert ids(pages) == list(reversed(created))
    assert ids(own) == [created[6], created[3], created[0]]


async def test_an_operator_narrows_the_list_by_partner_institution_region_and_the_partners_filters(
        stack: Stack, a_form: Form, open_call: OpenCall) -> None:
    first_id, second_id = uuid.uuid4(), uuid.uuid4()
    first, second = bearer("partner", first_id), bearer("partner", second_id)
    async with stack.api("intake") as api:
        call = await open_call(api, "P1")
        kaist_first = await apply(api, a_form, first, "KAIST", "Daejeon")
        kaist_second = await apply(api, a_form, second, "kaist", "Daejeon")
        snu_draft = await apply(api, a_form, second, "Seoul National University", "Seoul", submit=False)
        p1 = (await api.post("/applications", json=a_form("P1", call_id=call["id"]), headers=first)).json()["id"]

        async def listed(**params: Any) -> list[str]:
            return ids(await every_page(api, "/applications", OPERATOR, limit=1, **params))

        assert await listed(partner_id=str(first_id)) == [p1, kaist_first]
        assert await listed(institution="Kaist") == [kaist_second, kaist_first]  # whole name, any case
        assert await listed(institution="KAI") == []  # not a substring search
        assert await listed(region="Seoul") == [snu_draft]
        assert await listed(region="Daejeon", partner_id=str(second_id)) == [kaist_second]
        assert await listed(status="draft") == [snu_draft]
        assert await listed(program="P1") == await listed(call_id=call["id"]) == [p1]
        assert await listed(region="Busan", program="P1") == [p1]  # the P1 form's applicant is in Busan
        assert await listed(institution="kaist", status="submitted", program="P3", partner_id=str(first_id)) == [
            kaist_first]


async def test_a_partner_naming_another_partner_is_refused_and_sees_nothing_of_it(
        stack: Stack, a_form: Form, partner_id: uuid.UUID, partner: dict[str, str]) -> None:
    other_id = uuid.uuid4()
    async with stack.api("intake") as api:
        own = await apply(api, a_form, partner)
        await apply(api, a_form, bearer("partner", other_id))
        refused = await api.get("/applications", params={"partner_id": str(other_id)}, headers=partner)
        by_own_id = await every_page(api, "/applications", partner, partner_id=str(partner_id))
        by_institution = await every_page(api, "/applications", partner, institution="kaist", region="Daejeon")
    assert refused.status_code == 403, refused.text
    assert "its own applications" in refused.json()["detail"]
    assert "items" not in refused.json()
    assert ids(by_own_id) == ids(by_institution) == [own]


LONG = "x" * 201
BAD_QUERIES = {
    "institution-too-long": ({"institution": LONG}, "query.institution"),
    "institution-empty": ({"institution": ""}, "query.institution"),
    "institution-with-a-control-character": ({"institution": "KAIST\x00"}, "query.institution"),
    "unknown-region": ({"region": "Atlantis"}, "query.region"),
    "partner-id-not-a-uuid": ({"partner_id": "someone"}, "query.partner_id"),
    "unknown-status": ({"status": "lost"}, "query.status"),
}


@pytest.mark.parametrize("params,field", BAD_QUERIES.values(), ids=BAD_QUERIES.keys())
async def test_a_bad_filter_is_refused_naming_it(stack: Stack, params: dict[str, str], field: str) -> None:
    async with stack.api("intake") as api:
        response = await api.get("/applications", params=params, headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
