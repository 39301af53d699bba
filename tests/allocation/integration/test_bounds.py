"""Input that cannot hurt, at allocation's door: a control character, a day beyond the calendar bounds or an integer
no column holds is a 422 naming the field, and nothing is stored."""
from __future__ import annotations

from support.auth import OPERATOR
from support.stack import Stack

A_SERVER = {"csp": "gamma-cloud", "name": "p3-gov-01", "region": "Gwangju", "gpu_model": "H100", "gpus": 8,
            "pool": "P3"}


async def test_a_csp_name_with_a_nul_byte_is_refused_naming_the_name_and_not_stored(stack: Stack) -> None:
    before = await stack.count("allocation.csp")
    async with stack.api("allocation") as api:
        response = await api.post("/csps", json={"name": "gamma\x00cloud"}, headers=OPERATOR)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["name"]
    assert errors[0]["reason"] == "must not contain control characters (found U+0000 at 5)"
    assert await stack.count("allocation.csp") == before


async def test_a_server_out_of_bounds_is_refused_naming_each_field_and_not_stored(stack: Stack) -> None:
    before = await stack.count("allocation.server")
    async with stack.api("allocation") as api:
        await api.post("/csps", json={"name": "gamma-cloud"}, headers=OPERATOR)
        response = await api.post("/servers", json={**A_SERVER, "gpu_model": "H100\x00", "gpus": 2**31,
                                                    "available_until": "9999-12-31"}, headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert sorted(e["field"] for e in response.json()["errors"]) == ["available_until", "gpu_model", "gpus"]
    assert await stack.count("allocation.server") == before


async def test_a_capacity_query_with_a_nul_byte_or_the_year_9999_is_refused_naming_the_parameter(
        stack: Stack) -> None:
    async with stack.api("allocation") as api:
        model = await api.get("/pools/P3/capacity", params={"gpu_model": "H100\x00"}, headers=OPERATOR)
        daily = await api.get("/pools/P3/capacity/daily", params={"start": "2026-12-01", "end": "9999-12-31"},
                              headers=OPERATOR)
    assert (model.status_code, daily.status_code) == (422, 422)
    assert [e["field"] for e in model.json()["errors"]] == ["query.gpu_model"]
    assert [e["field"] for e in daily.json()["errors"]] == ["query.end"]
