"""Prometheus remote-write through the real app on the real database: DCGM series stored under the right server and
attributed to the allocation holding the GPU, every sample counted, the host mapping applied, another CSP's servers
dropped rather than the batch refused, and each malformed or oversized request refused with its reason."""
from __future__ import annotations

import math
import struct
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import cramjam
import httpx

from support.auth import OPERATOR, bearer, csp_id
from support.clock import ManualClock
from support.stack import Stack
from telemetry.config import PolicySettings
from telemetry.domain.commands import TrackAllocation
from telemetry.domain.model import Slot
from telemetry.entrypoints import prompb

AT = datetime(2026, 12, 1, 10, tzinfo=UTC)
NOW = ManualClock(AT + timedelta(hours=1))  # the API's clock: the CSP's Prometheus sends what it scraped
SERVER = "p3-gov-01"
GOV, BETA = csp_id("gov"), csp_id("beta")  # two CSPs of the inventory, by their ids
PROBLEM = "application/problem+json"
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]  # Prometheus' stale marker
Points = list[tuple[float, datetime]]


def series(metric: str, points: Points, *, host: str = SERVER, gpu: int | str = 0) -> tuple[dict[str, str], Points]:
    labels = {"__name__": metric, "Hostname": host, "gpu": str(gpu), "UUID": f"GPU-{uuid.uuid4()}",
              "modelName": "NVIDIA H100 80GB HBM3", "device": f"nvidia{gpu}", "instance": f"{host}:9400",
              "job": "dcgm"}
    return labels, points


def util(host: str = SERVER, gpu: int = 0, pct: float = 50.0, *, minutes: int = 3,
         start: datetime = AT) -> tuple[dict[str, str], Points]:
    """DCGM_FI_DEV_GPU_UTIL of one GPU, a sample a minute."""
    return series("DCGM_FI_DEV_GPU_UTIL", [(pct, start + timedelta(minutes=m)) for m in range(minutes)],
                  host=host, gpu=gpu)


def write_request(*all_series: tuple[dict[str, str], Points]) -> bytes:
    """A WriteRequest as Prometheus sends it: protobuf, then raw (block) snappy."""
    request = prompb.WriteRequest()
    for labels, points in all_series:
        ts = request.timeseries.add()
        for name, value in sorted(labels.items()):
            ts.labels.add(name=name, value=value)
        for value, at in points:
            ts.samples.add(value=value, timestamp=int(at.timestamp() * 1000))
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


def headers(csp: str = "gov", **changed: str) -> dict[str, str]:
    return {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
            "X-Prometheus-Remote-Write-Version": "0.1.0", "User-Agent": "Prometheus/2.53.4",
            **bearer("csp", csp_id(csp)), **changed}


def counts(**given: int) -> dict[str, int]:
    zero = dict.fromkeys(["received", "accepted", "duplicates", "unheld", "ignored", "unmapped", "refused_future",
                          "refused_other_csp", "refused_late", "merged", "allocations_evaluated"], 0)
    return {**zero, **given}


def tracked(server: str = SERVER, csp: str = "gov", gpus: int = 2) -> TrackAllocation:
    """2 GPUs planned at 730 h/month (a 15% threshold), from AT's day on."""
    return TrackAllocation(allocation_id=uuid.uuid4(), application_id=uuid.uuid4(), program="P3", gpus=gpus,
                           starts_at=AT - timedelta(hours=10), ends_at=AT + timedelta(days=30),
                           planned_gpu_hours_per_month=730,
                           slots=tuple(Slot(server, i, csp, csp_id=csp_id(csp)) for i in range(gpus)))


async def stored(stack: Stack) -> list[tuple[str, int, datetime, float]]:
    rows = await stack.fetch("SELECT server_name, gpu_index, ts, utilization_pct FROM telemetry.sample "
                             "JOIN telemetry.gpu USING (gpu_id) ORDER BY server_name, gpu_index, ts")
    return [(r["server_name"], r["gpu_index"], r["ts"], r["utilization_pct"]) for r in rows]


async def post(api: httpx.AsyncClient, body: bytes, **kwargs: Any) -> httpx.Response:
    return await api.post("/api/v1/write", content=body, **kwargs)


async def test_a_batch_is_stored_and_counts_for_the_allocation_holding_each_gpu(stack: Stack) -> None:
    held = tracked()
    await stack.handle("telemetry", held)
    body = write_request(util(gpu=0, pct=20.0), util(gpu=1, pct=40.0), util(host="p3-gov-99", gpu=0),
                         series("DCGM_FI_DEV_FB_USED", [(40960.0, AT)]),
                         series("DCGM_FI_DEV_POWER_USAGE", [(350.5, AT)]))
    async with stack.api("telemetry", clock=NOW) as api:
        response = await post(api, body, headers=headers())
        view = (await api.get(f"/allocations/{held.allocation_id}/utilization", headers=OPERATOR)).json()
    assert response.status_code == 200, response.text
    # the memory and power of GPU 0 at AT go with its utilization sample of that instant
    assert response.json() == counts(received=11, accepted=9, unheld=3, merged=2, allocations_evaluated=1)
    assert len(await stored(stack)) == 9
    assert [tuple(r) for r in await stack.fetch(
        "SELECT gpu_index, memory_used_mib, power_w FROM telemetry.sample JOIN telemetry.gpu USING (gpu_id) "
        "WHERE memory_used_mib IS NOT NULL OR power_w IS NOT NULL")] == [(0, 40960.0, 350.5)]
    assert (view["samples_counted"], view["utilization_pct"]) == (6, 30.0)
    hours = await stack.fetch("SELECT allocation_id, samples, memory_mib_sum, power_w_sum "
                              "FROM telemetry.allocation_hour")
    assert [tuple(h) for h in hours] == [(held.allocation_id, 6, 40960.0, 350.5)]


async def test_a_batch_sent_again_counts_duplicates_and_stores_nothing_twice(stack: Stack) -> None:
    await stack.handle("telemetry", held := tracked())
    body = write_request(util(gpu=0), util(gpu=1))
    async with stack.api("telemetry", clock=NOW) as api:
        first = await post(api, body, headers=headers())
        again = await post(api, body, headers=headers())
    assert first.json() == counts(received=6, accepted=6, allocations_evaluated=1)
    assert again.json() == counts(received=6, duplicates=6)
    assert len(await stored(stack)) == 6
    # counted once in the allocation's hour; nothing published (its usage goes out when the hour closes)
    assert [h["samples"] for h in await stack.fetch("SELECT samples FROM telemetry.allocation_hour "
                                                     "WHERE allocation_id = $1", held.allocation_id)] == [6]
    assert await stack.fetch("SELECT * FROM telemetry.outbox") == []


async def test_gpu_util_wins_and_the_graphics_engine_ratio_stands_in_where_it_is_all_a_gpu_sent(stack: Stack) -> None:
    body = write_request(util(gpu=0, pct=30.0, minutes=1),
                         series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", [(0.9, AT)], gpu=0),
                         series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", [(0.25, AT)], gpu=1))
    async with stack.api("telemetry", clock=NOW) as api:
        response = await post(api, body, headers=headers())
    assert response.json() == counts(received=3, accepted=2, unheld=2, ignored=1)
    assert await stored(stack) == [(SERVER, 0, AT, 30.0), (SERVER, 1, AT, 25.0)]


async def test_stale_markers_and_unplaceable_series_are_counted_not_stored(stack: Stack) -> None:
    body = write_request(series("DCGM_FI_DEV_GPU_UTIL", [(STALE_NAN, AT), (math.inf, AT + timedelta(minutes=1)),
                                                         (50.0, AT + timedelta(minutes=2))]),
                         series("DCGM_FI_DEV_GPU_UTIL", [(50.0, AT)], gpu="1024"),
                         series("DCGM_FI_DEV_GPU_UTIL", [(50.0, AT)], host=""))
    async with stack.api("telemetry", clock=NOW) as api:
        response = await post(api, body, headers=headers())
    assert response.json() == counts(received=5, accepted=1, unheld=1, ignored=2, unmapped=2)
    assert await stored(stack) == [(SERVER, 0, AT + timedelta(minutes=2), 50.0)]


async def test_a_mapped_host_s_samples_are_stored_under_its_server_and_attributed(stack: Stack) -> None:
    held = tracked()
    await stack.handle("telemetry", held)
    async with stack.api("telemetry", clock=NOW) as api:
        mapped = await api.put(f"/csps/{GOV}/hosts/dgx-a17.gov.internal", json={"server": SERVER},
                               headers=bearer("csp", GOV))
        by_operator = await api.put(f"/csps/{GOV}/hosts/dgx-a18.gov.internal", json={"server": "p3-gov-02"},
                                    headers=OPERATOR)
        response = await post(api, write_request(util(host="dgx-a17.gov.internal", gpu=1)), headers=headers())
        listed = await api.get(f"/csps/{GOV}/hosts", headers=bearer("csp", GOV))
        view = (await api.get(f"/allocations/{held.allocation_id}/utilization", headers=OPERATOR)).json()
    assert (mapped.status_code, by_operator.status_code) == (200, 200), mapped.text
    assert mapped.json() == {"csp_id": str(GOV), "hostname": "dgx-a17.gov.internal", "server": SERVER}
    assert response.json() == counts(received=3, accepted=3, allocations_evaluated=1)
    assert {server for server, *_ in await stored(stack)} == {SERVER}
    assert view["samples_counted"] == 3
    assert listed.json() == [{"csp_id": str(GOV), "hostname": "dgx-a17.gov.internal", "server": SERVER},
                             {"csp_id": str(GOV), "hostname": "dgx-a18.gov.internal", "server": "p3-gov-02"}]


async def test_a_host_mapping_is_the_csp_s_own_replaced_by_put_and_removed_by_delete(stack: Stack) -> None:
    gov = bearer("csp", GOV)
    async with stack.api("telemetry", clock=NOW) as api:
        await api.put(f"/csps/{GOV}/hosts/node-1", json={"server": "p3-gov-01"}, headers=gov)
        replaced = await api.put(f"/csps/{GOV}/hosts/node-1", json={"server": "p3-gov-02"}, headers=gov)
        by_another = await api.put(f"/csps/{GOV}/hosts/node-2", json={"server": "x"}, headers=bearer("csp", BETA))
        read_by_another = await api.get(f"/csps/{GOV}/hosts", headers=bearer("csp", BETA))
        by_a_partner = await api.get(f"/csps/{GOV}/hosts", headers=bearer("partner"))
        bad = await api.put(f"/csps/{GOV}/hosts/node-3", json={"server": "a\nb"}, headers=gov)
        removed = await api.delete(f"/csps/{GOV}/hosts/node-1", headers=gov)
        removed_again = await api.delete(f"/csps/{GOV}/hosts/node-1", headers=OPERATOR)
        after = await api.get(f"/csps/{GOV}/hosts", headers=OPERATOR)
        betas = await api.put(f"/csps/{BETA}/hosts/node-1", json={"server": "beta-01"}, headers=bearer("csp", BETA))
        samples = await post(api, write_request(util(host="node-1", minutes=1)), headers=headers())
    assert replaced.json()["server"] == "p3-gov-02"
    assert (by_another.status_code, read_by_another.status_code, by_a_partner.status_code) == (403, 403, 403)
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "server")
    assert (removed.status_code, removed_again.status_code) == (204, 404)
    assert removed_again.headers["content-type"] == PROBLEM
    assert (after.json(), betas.status_code) == ([], 200)
    assert samples.json()["accepted"] == 1
    # gov's node-1 is unmapped again, and beta's mapping of a host of that name is beta's alone: its own server
    assert await stored(stack) == [("node-1", 0, AT, 50.0)]


async def test_another_csp_s_servers_are_dropped_and_counted_and_the_rest_is_stored(stack: Stack) -> None:
    theirs, ours = tracked(), tracked(server="beta-01", csp="beta")  # SERVER is gov's
    await stack.handle("telemetry", theirs, ours)
    body = write_request(util(gpu=0), util(gpu=1), util(host="beta-01", gpu=0))
    async with stack.api("telemetry", clock=NOW) as api:
        response = await post(api, body, headers=headers("beta"))
    assert response.status_code == 200
    assert response.json() == counts(received=9, accepted=3, refused_other_csp=6, allocations_evaluated=1)
    assert {server for server, *_ in await stored(stack)} == {"beta-01"}
    counted = await stack.fetch("SELECT DISTINCT allocation_id FROM telemetry.allocation_hour")
    assert [c["allocation_id"] for c in counted] == [ours.allocation_id]


async def test_samples_dated_past_the_clock_skew_are_dropped_and_counted(stack: Stack) -> None:
    skew = PolicySettings(max_clock_skew_s=60)
    body = write_request(util(minutes=3, start=NOW.now - timedelta(minutes=1)))  # one a minute: now-1', now, now+1'
    late = write_request(util(gpu=1, minutes=1, start=NOW.now + timedelta(minutes=1, milliseconds=1)))
    async with stack.api("telemetry", clock=NOW, policy=skew) as api:
        response = await post(api, body, headers=headers())
        too_late = await post(api, late, headers=headers())
    assert response.json() == counts(received=3, accepted=3, unheld=3)  # a minute ahead is within the skew
    assert too_late.status_code == 200
    assert too_late.json() == counts(received=1, refused_future=1)
    assert len(await stored(stack)) == 3


async def test_a_body_that_is_not_a_snappy_write_request_is_a_400_naming_why(stack: Stack) -> None:
    not_protobuf = bytes(cramjam.snappy.compress_raw(b"\x0a\xff\xff\xff garbage"))
    async with stack.api("telemetry", clock=NOW) as api:
        answers = {"garbage": await post(api, b"\x0fnot snappy at all", headers=headers()),
                   "framed": await post(api, bytes(cramjam.snappy.compress(write_request(util()))),
                                        headers=headers()),
                   "protobuf": await post(api, not_protobuf, headers=headers()),
                   "gzip": await post(api, write_request(util()), headers=headers(**{"Content-Encoding": "gzip"})),
                   "v2": await post(api, write_request(util()),
                                    headers=headers(**{"X-Prometheus-Remote-Write-Version": "2.0.0"}))}
    assert {k: r.status_code for k, r in answers.items()} == dict.fromkeys(answers, 400)
    assert all(r.headers["content-type"] == PROBLEM for r in answers.values())
    reasons = {k: r.json()["errors"][0] for k, r in answers.items()}
    assert reasons["garbage"]["field"] == reasons["framed"]["field"] == reasons["protobuf"]["field"] == "body"
    assert "not a snappy block" in reasons["garbage"]["reason"]
    assert "not a prometheus.WriteRequest" in reasons["protobuf"]["reason"]
    assert (reasons["gzip"]["field"], reasons["v2"]["field"]) == ("content-encoding",
                                                                  "X-Prometheus-Remote-Write-Version")
    assert await stored(stack) == []


async def test_a_body_over_its_cap_or_declaring_too_much_uncompressed_is_a_413(stack: Stack) -> None:
    body = write_request(*(util(gpu=g, minutes=30) for g in range(16)))
    raw_length = len(cramjam.snappy.decompress_raw(body))
    compressed_cap = PolicySettings(remote_write_max_bytes=len(body) - 1)
    decoded_cap = PolicySettings(remote_write_max_decoded_bytes=raw_length - 1)
    lying = b"\xff\xff\xff\xff\x0f" + body[1:]  # a preamble declaring 4 GiB before a small block
    async with stack.api("telemetry", clock=NOW, policy=compressed_cap) as api:
        over_cap = await post(api, body, headers=headers())
        streamed = await post(api, chunks(body), headers=headers())  # no Content-Length: counted as it arrives
    async with stack.api("telemetry", clock=NOW, policy=decoded_cap) as api:
        declared = await post(api, body, headers=headers())
        lied = await post(api, lying, headers=headers())
    async with stack.api("telemetry", clock=NOW, policy=PolicySettings(remote_write_max_samples=479)) as api:
        too_many = await post(api, body, headers=headers())
    statuses = [r.status_code for r in (over_cap, streamed, declared, lied, too_many)]
    assert statuses == [413] * 5
    assert over_cap.json()["errors"] == [{"field": "body", "reason": f"larger than {len(body) - 1} bytes, the most "
                                                                     "this endpoint takes"}]
    assert f"declares {raw_length} bytes uncompressed" in declared.json()["detail"]
    assert "declares 4294967295 bytes" in lied.json()["detail"]
    assert "480 samples" in too_many.json()["detail"]
    assert await stored(stack) == []


async def chunks(body: bytes) -> Any:
    for i in range(0, len(body), 100):
        yield body[i:i + 100]


async def test_another_content_type_is_a_415(stack: Stack) -> None:
    async with stack.api("telemetry", clock=NOW) as api:
        json_body = await post(api, write_request(util()), headers=headers(**{"Content-Type": "application/json"}))
        v2 = await post(api, write_request(util()), headers=headers(
            **{"Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request"}))
    assert (json_body.status_code, v2.status_code) == (415, 415)
    assert json_body.json()["errors"][0]["field"] == "content-type"
    assert await stored(stack) == []


async def test_only_a_csp_may_write_and_only_with_a_valid_token(stack: Stack) -> None:
    body = write_request(util())
    async with stack.api("telemetry", clock=NOW) as api:
        none = await post(api, body, headers={k: v for k, v in headers().items() if k != "Authorization"})
        operator = await post(api, body, headers={**headers(), **OPERATOR})
    assert (none.status_code, operator.status_code) == (401, 403)
    assert await stored(stack) == []


async def test_a_request_of_metadata_alone_is_answered_with_nothing_counted(stack: Stack) -> None:
    async with stack.api("telemetry", clock=NOW) as api:
        response = await post(api, write_request(), headers=headers())
    assert (response.status_code, response.json()) == (200, counts())
