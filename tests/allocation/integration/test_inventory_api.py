"""The operator's inventory API and the demo seed, on the real database."""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from allocation import demo
from allocation.__main__ import announce_csps, seed_demo
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
        csp = await api.post("/csps", json={"name": "gamma-cloud"}, headers=OPERATOR)
        first = await api.post("/servers", json=A_SERVER, headers=OPERATOR)
        csp_again = await api.post("/csps", json={"name": "gamma-cloud"}, headers=OPERATOR)
        server_again = await api.post("/servers", json={**A_SERVER, "region": "Busan", "gpus": 4}, headers=OPERATOR)
    assert first.status_code == 201
    assert (csp_again.status_code, server_again.status_code) == (409, 409)
    assert server_again.json()["errors"][0]["field"] == "name"
    assert (await count(query, "csp"), await count(query, "server")) == (1, 1)
    assert (await query("SELECT region, gpus FROM allocation.server"))[0] == ("Gwangju", 8)
    # the CSP registered is announced once, under the id it was given; the refused one not at all
    announced = await query("SELECT key, payload->>'csp_id' AS csp_id, payload->>'name' AS name "
                            "FROM allocation.outbox WHERE type = 'allocation.csp_registered.v1'")
    assert [tuple(r) for r in announced] == [(csp.json()["id"], csp.json()["id"], "gamma-cloud")]


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
    # each demo CSP announced once, by its id, for intake to link CSP clients to: nothing else, nothing twice
    announced = await query("SELECT o.type, o.key, o.payload->>'name' AS name FROM allocation.outbox o "
                            "JOIN allocation.csp c ON c.id::text = o.key ORDER BY name")
    assert [tuple(r) for r in announced] == [("allocation.csp_registered.v1", r["key"], name)
                                             for r, name in zip(announced, demo.CSPS, strict=True)]
    assert await count(query, "outbox") == 3
    # announced again on request (CSPs registered before they were announced): each once more, by its id
    assert await announce_csps(settings) == 3
    again = await query("SELECT key, count(*) FROM allocation.outbox GROUP BY key")
    assert sorted(r["count"] for r in again) == [2, 2, 2]


def uuids(tag: str, gpus: int = 8) -> list[str]:
    """GPU UUIDs as the DCGM exporter labels them, one set per tag (8 hex digits)."""
    return [f"GPU-{tag}-1b2f-4c3d-9e8f-{i:012x}" for i in range(gpus)]


async def test_a_server_registered_with_its_gpu_uuids_lists_them_in_index_order(stack: Stack, query: Query) -> None:
    typed = [u.upper() for u in uuids("5d5e7a9c")]
    async with stack.api("allocation") as api:
        await api.post("/csps", json={"name": "gamma-cloud"}, headers=OPERATOR)
        created = await api.post("/servers", json={**A_SERVER, "gpu_uuids": typed}, headers=OPERATOR)
        plain = await api.post("/servers", json={**A_SERVER, "name": "p3-gov-02"}, headers=OPERATOR)
        listed = (await api.get("/servers", headers=OPERATOR)).json()
    assert (created.status_code, plain.status_code) == (201, 201)
    assert created.json()["gpu_uuids"] == uuids("5d5e7a9c")  # as DCGM writes them: lower-case hex
    assert [(s["name"], s["gpu_uuids"]) for s in listed] == [("p3-gov-01", uuids("5d5e7a9c")), ("p3-gov-02", [])]
    stored = await query("SELECT gpu_index, gpu_uuid FROM allocation.server_gpu ORDER BY gpu_index")
    assert [tuple(r) for r in stored] == list(enumerate(uuids("5d5e7a9c")))


async def test_gpu_uuids_of_the_wrong_count_form_or_of_another_server_are_refused_naming_the_field(
        stack: Stack, query: Query) -> None:
    async with stack.api("allocation") as api:
        await api.post("/csps", json={"name": "gamma-cloud"}, headers=OPERATOR)
        await api.post("/servers", json={**A_SERVER, "gpu_uuids": uuids("5d5e7a9c")}, headers=OPERATOR)
        seven = uuids("0000beef", 7)
        too_few, malformed, repeated, taken = [
            await api.post("/servers", json={**A_SERVER, "name": "p3-gov-02", "gpu_uuids": gpu_uuids},
                           headers=OPERATOR)
            for gpu_uuids in (seven, [*seven, "GPU-#1"], [*seven, seven[0]], [*seven, uuids("5d5e7a9c")[3]])]
    assert [r.status_code for r in (too_few, malformed, repeated, taken)] == [422, 422, 422, 409]
    assert [[e["field"] for e in r.json()["errors"]] for r in (too_few, malformed, repeated, taken)] == [
        ["gpu_uuids"], ["gpu_uuids.7"], ["gpu_uuids.7"], ["gpu_uuids.7"]]
    assert "p3-gov-01" in taken.json()["errors"][0]["reason"]
    assert (await count(query, "server"), await count(query, "server_gpu"), await count(query, "server_window")) == (
        1, 8, 1)


async def test_the_gpu_uuids_of_a_registered_server_are_set_and_bad_ones_change_nothing(
        stack: Stack, query: Query) -> None:
    async with stack.api("allocation") as api:
        await api.post("/csps", json={"name": "gamma-cloud"}, headers=OPERATOR)
        first = (await api.post("/servers", json=A_SERVER, headers=OPERATOR)).json()
        second = (await api.post("/servers", json={**A_SERVER, "name": "p3-gov-02", "gpu_uuids": uuids("0000beef")},
                                 headers=OPERATOR)).json()
        path = f"/servers/{first['id']}/gpu-uuids"
        set_ = await api.put(path, json={"gpu_uuids": uuids("5d5e7a9c")}, headers=OPERATOR)
        too_many = await api.put(path, json={"gpu_uuids": uuids("0000cafe", 9)}, headers=OPERATOR)
        malformed = await api.put(path, json={"gpu_uuids": ["GPU-5d5e7a9c"] * 7 + ["nope"]}, headers=OPERATOR)
        taken = await api.put(path, json={"gpu_uuids": second["gpu_uuids"]}, headers=OPERATOR)
        unknown = await api.put(f"/servers/{uuid.uuid4()}/gpu-uuids", json={"gpu_uuids": []}, headers=OPERATOR)
        kept = (await api.get("/servers", headers=OPERATOR)).json()
        forgotten = await api.put(path, json={"gpu_uuids": []}, headers=OPERATOR)
        moved = await api.put(f"/servers/{second['id']}/gpu-uuids", json={"gpu_uuids": uuids("5d5e7a9c")},
                              headers=OPERATOR)
    assert (set_.status_code, set_.json()["gpu_uuids"]) == (200, uuids("5d5e7a9c"))
    assert [r.status_code for r in (too_many, malformed, taken, unknown)] == [422, 422, 409, 404]
    assert [e["field"] for e in too_many.json()["errors"]] == ["gpu_uuids"]
    assert {e["field"] for e in malformed.json()["errors"]} == {"gpu_uuids.7"}
    assert [e["field"] for e in taken.json()["errors"]] == [f"gpu_uuids.{i}" for i in range(8)]
    assert [s["gpu_uuids"] for s in kept] == [uuids("5d5e7a9c"), uuids("0000beef")]
    assert (forgotten.json()["gpu_uuids"], moved.status_code) == ([], 200)  # forgotten: free for another server
    assert await count(query, "server_gpu") == 8


async def test_an_unknown_allocation_is_not_found(stack: Stack) -> None:
    async with stack.api("allocation") as api:
        missing = "00000000-0000-0000-0000-000000000000"
        got = await api.get(f"/allocations/{missing}", headers=OPERATOR)
        reclaimed = await api.post(f"/allocations/{missing}/reclaim", json={"reason": "operator"}, headers=OPERATOR)
    assert (got.status_code, reclaimed.status_code) == (404, 404)
