"""The operator's inventory API and the demo seed, on the real database."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from allocation import demo
from allocation.__main__ import seed_demo
from allocation.config import InventorySettings
from support.auth import OPERATOR
from support.stack import Stack

Query = Callable[..., Awaitable[list[asyncpg.Record]]]
A_SERVER = {"csp": "gamma-cloud", "name": "p3-gov-01", "region": "Gwangju", "gpu_model": "H100", "gpus": 8,
            "pool": "P3"}


async def count(query: Query, table: str) -> int:
    return int((await query(f"SELECT count(*) FROM allocation.{table}"))[0][0])


async def test_registered_servers_are_listed_by_pool_and_model(stack: Stack, seed_p3_via_api: Any) -> None:
    async with stack.api("allocation") as api:
        await seed_p3_via_api(api)
        await api.post("/servers", json={**A_SERVER, "name": "p2-res-01", "gpu_model": "H200", "pool": "P2"},
                       headers=OPERATOR)
        p3 = (await api.get("/servers", params={"pool": "P3", "gpu_model": "H100"}, headers=OPERATOR)).json()
        h200 = (await api.get("/servers", params={"gpu_model": "H200"}, headers=OPERATOR)).json()
        csps = (await api.get("/csps", headers=OPERATOR)).json()
    assert [s["name"] for s in p3] == ["p3-gov-01", "p3-gov-02", "p3-gov-03", "p3-gov-04"]
    assert {(s["csp"], s["gpus"], s["region"]) for s in p3} == {("gamma-cloud", 8, "Gwangju")}
    assert [s["name"] for s in h200] == ["p2-res-01"]
    assert [c["name"] for c in csps] == list(demo.CSPS)


async def test_a_duplicate_csp_or_server_name_is_a_conflict_and_changes_nothing(stack: Stack,
                                                                                   query: Query) -> None:
    async with stack.api("allocation") as api:
        await api.post("/csps", json={"name": "gamma-cloud"}, headers=OPERATOR)
        first = await api.post("/servers", json=A_SERVER, headers=OPERATOR)
        csp_again = await api.post("/csps", json={"name": "gamma-cloud"}, headers=OPERATOR)
        server_again = await api.post("/servers", json={**A_SERVER, "region": "Busan", "gpus": 4}, headers=OPERATOR)
    assert first.status_code == 201
    assert (csp_again.status_code, server_again.status_code) == (409, 409)
    assert server_again.json()["errors"][0]["field"] == "name"
    assert (await count(query, "csp"), await count(query, "server")) == (1, 1)
    assert (await query("SELECT region, gpus FROM allocation.server"))[0] == ("Gwangju", 8)


async def test_a_server_of_an_unknown_csp_is_refused_naming_the_csp_field(stack: Stack, query: Query) -> None:
    async with stack.api("allocation") as api:
        response = await api.post("/servers", json={**A_SERVER, "csp": "nowhere-cloud"}, headers=OPERATOR)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["csp"]
    assert await count(query, "server") == 0


async def test_an_unknown_pool_and_zero_gpus_are_both_named(stack: Stack, query: Query) -> None:
    async with stack.api("allocation") as api:
        await api.post("/csps", json={"name": "gamma-cloud"}, headers=OPERATOR)
        response = await api.post("/servers", json={**A_SERVER, "pool": "P9", "gpus": 0}, headers=OPERATOR)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"pool", "gpus"}
    assert await count(query, "server") == 0


async def test_a_server_registered_without_a_gpu_count_gets_the_configured_size(stack: Stack) -> None:
    body = {k: v for k, v in A_SERVER.items() if k != "gpus"}
    async with stack.api("allocation", inventory=InventorySettings(server_gpus=4)) as api:
        await api.post("/csps", json={"name": "gamma-cloud"}, headers=OPERATOR)
        created = await api.post("/servers", json=body, headers=OPERATOR)
    assert created.status_code == 201
    assert created.json()["gpus"] == 4


async def test_an_empty_pool_reports_every_gpu_free(stack: Stack, seed_p3_via_api: Any) -> None:
    async with stack.api("allocation") as api:
        await seed_p3_via_api(api)
        p3 = (await api.get("/pools/P3/capacity", params={"gpu_model": "H100"}, headers=OPERATOR)).json()
        other_model = (await api.get("/pools/P3/capacity", params={"gpu_model": "B200"}, headers=OPERATOR)).json()
    assert (p3["total_gpus"], p3["allocated_gpus"], p3["free_gpus"]) == (32, 0, 32)
    assert other_model["total_gpus"] == 0


async def test_a_capacity_instant_without_a_timezone_is_refused_naming_the_field(stack: Stack) -> None:
    async with stack.api("allocation") as api:
        response = await api.get("/pools/P3/capacity", params={"at": "2026-12-01T00:00:00"}, headers=OPERATOR)
        unknown = await api.get("/pools/P7/capacity", headers=OPERATOR)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["query.at"]
    assert unknown.status_code == 422


async def test_seed_demo_creates_the_demo_inventory_and_a_second_run_changes_nothing(stack: Stack,
                                                                                    query: Query) -> None:
    settings = stack.settings("allocation")
    assert await seed_demo(settings) == len(demo.CSPS) + len(demo.SERVERS)
    assert await seed_demo(settings) == 0
    pools = {tuple(r) for r in await query(
        "SELECT pool, gpu_model, count(*), sum(gpus) FROM allocation.server GROUP BY pool, gpu_model")}
    assert pools == {("P1", "H100", 8, 64), ("P2", "H200", 8, 64), ("P3", "H100", 4, 32)}
    assert await count(query, "csp") == 3
    assert await count(query, "outbox") == 0


async def test_an_unknown_allocation_is_not_found(stack: Stack) -> None:
    async with stack.api("allocation") as api:
        missing = "00000000-0000-0000-0000-000000000000"
        got = await api.get(f"/allocations/{missing}", headers=OPERATOR)
        reclaimed = await api.post(f"/allocations/{missing}/reclaim", json={"reason": "operator"}, headers=OPERATOR)
    assert (got.status_code, reclaimed.status_code) == (404, 404)
