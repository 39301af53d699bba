"""The reclaim ladder on the real database and broker, rule by rule, with numbers worked out by hand: the GPU-hours
rule, missing telemetry (coverage) and silence, waivers, late samples, retention of the raw samples, and the
operators' and CSPs' views (hourly series, the ladder's history, freshness, stale allocations)."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from contracts import GpuSlot, ReclaimWaived, ResourceAllocated, to_record, topics
from support.auth import OPERATOR, bearer, csp_id
from support.clock import ManualClock
from support.kafka import produce_raw, read_topic
from support.stack import Stack, eventually
from telemetry.config import PolicySettings, StorageSettings
from telemetry.domain.commands import KeepPartitions

STARTS_AT = datetime(2026, 12, 1, tzinfo=UTC)
SERVER = "p3-gov-01"
CSP = {"Content-Type": "application/x-ndjson", **bearer("csp", csp_id("gov"))}
# judged after an hour of data (24 by default); quiet allocations are flagged only after a day, unless a test says;
# samples are late after four hours (two by default), so that three hours of them can be sent at once
POLICY = PolicySettings(min_judged_hours=1, stale_after_s=86_400, lateness_s=4 * 3600)
QUICK = StorageSettings(upkeep_interval_s=0.2)
Line = dict[str, Any]


def allocated() -> ResourceAllocated:
    """2 GPUs planned at 730 GPU-hours a month: 50% planned, a 15% threshold for the mean rule; over H hours of the
    window the plan is H GPU-hours, of which the GPU-hours rule requires half."""
    return ResourceAllocated(
        application_id=uuid.uuid4(), allocation_id=uuid.uuid4(), program="P3", gpu_model="H100", gpus=2,
        slots=[GpuSlot(server_id=uuid.uuid4(), server_name=SERVER, csp="gov", csp_id=csp_id("gov"), gpu_index=i)
               for i in range(2)],
        starts_at=STARTS_AT, ends_at=STARTS_AT + timedelta(days=90), planned_gpu_hours_per_month=730)


def samples(pct: float | None = None, *, minutes: range, **extra: float) -> str:
    """NDJSON: a sample of both GPUs at each of the minutes from the start (`pct` None: the minute's number %)."""
    lines = [{"server": SERVER, "gpu_index": gpu, "ts": (STARTS_AT + timedelta(minutes=m)).isoformat(),
              "utilization_pct": float(m % 100) if pct is None else pct, **extra}
             for m in minutes for gpu in range(2)]
    return "".join(json.dumps(line) + "\n" for line in lines)


async def deliver(stack: Stack, *events: ResourceAllocated | ReclaimWaived) -> None:
    for event in events:
        record = to_record(event, source="/gpu-platform/allocation")
        await produce_raw(stack.infra.kafka_bootstrap, stack.topic(topics.ALLOCATIONS), record.value,
                          key=record.key, headers=record.headers)


async def tracked(api: httpx.AsyncClient, allocation_id: uuid.UUID) -> None:
    async def probe() -> bool:
        response = await api.get(f"/allocations/{allocation_id}/utilization", headers=OPERATOR)
        return response.status_code == 200
    await eventually(probe, what=f"allocation {allocation_id} to be tracked")


async def events_out(stack: Stack, *, at_least: int, timeout: float = 30.0) -> list[tuple[str, Line]]:
    records = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.UTILIZATION),
                               at_least=at_least, timeout=timeout)
    return [(dict(r.headers)["ce_type"].decode().split(".")[1], json.loads(r.value)) for r in records]


async def get(api: httpx.AsyncClient, path: str, headers: dict[str, str] = OPERATOR, **params: str) -> Any:
    response = await api.get(path, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_gpu_hours_rule_warns_with_its_numbers_where_the_mean_rule_does_not(stack: Stack) -> None:
    event, clock = allocated(), ManualClock(STARTS_AT + timedelta(hours=3))
    async with (stack.api("telemetry", clock=clock, policy=POLICY) as api,
                stack.worker("telemetry", clock=clock, policy=POLICY, storage=QUICK)):
        await deliver(stack, event)
        await tracked(api, event.allocation_id)
        sent = await api.post("/samples", content=samples(20.0, minutes=range(180)), headers=CSP)
        assert sent.status_code == 202, sent.text
        [(kind, warning)] = await events_out(stack, at_least=1)
        view = await get(api, f"/allocations/{event.allocation_id}/utilization")
        ladder = await get(api, f"/allocations/{event.allocation_id}/ladder")
    # the window: 00:00 to the newest sample at 02:59, 2.9833 h of 2 GPUs = 5.9667 reserved GPU-hours.
    # mean rule: 20% against 0.3 x 50% = 15%: not short. GPU-hours rule: 20% busy of 5.9667 = 1.1933 actual GPU-hours
    # against half the plan's 730 x 2.9833 / 730 = 2.9833 GPU-hours, 1.4917: short
    assert (kind, warning["level"], warning["rule"]) == ("utilization_dropped", "warning", "gpu_hours_below_plan")
    assert warning["actual_gpu_hours"] == pytest.approx(1.19333, abs=1e-4)
    assert warning["planned_gpu_hours"] == pytest.approx(2.98333, abs=1e-4)
    assert warning["required_gpu_hours"] == pytest.approx(1.49167, abs=1e-4)
    assert (warning["utilization_pct"], warning["threshold_pct"], warning["coverage"]) == (20.0, 15.0, 1.0)
    assert (warning["window_start"], warning["window_end"]) == ("2026-12-01T00:00:00Z", "2026-12-01T02:59:00Z")
    rules = {r["rule"]: r for r in view["rules"]}
    assert (rules["mean_below_plan"]["short"], rules["gpu_hours_below_plan"]["short"]) == (False, True)
    assert rules["gpu_hours_below_plan"]["limit"] == pytest.approx(1.49167, abs=1e-4)
    [step] = ladder["steps"]
    assert (step["step"], step["rule"], step["at"]) == ("warning", "gpu_hours_below_plan", "2026-12-01T02:59:00Z")
    assert step["value"] == pytest.approx(1.19333, abs=1e-4)
    assert "1.2 actual GPU-hours against 1.5 required (of 3.0 planned)" in step["reason"]


async def test_with_only_the_mean_rule_switched_on_the_same_usage_is_no_drop(stack: Stack) -> None:
    event, clock = allocated(), ManualClock(STARTS_AT + timedelta(hours=3))
    policy = POLICY.model_copy(update={"rules": {"mean_below_plan"}})
    async with (stack.api("telemetry", clock=clock, policy=policy) as api,
                stack.worker("telemetry", clock=clock, policy=policy)):
        await deliver(stack, event)
        await tracked(api, event.allocation_id)
        await api.post("/samples", content=samples(20.0, minutes=range(180)), headers=CSP)
        view = await get(api, f"/allocations/{event.allocation_id}/utilization")
    assert ([r["rule"] for r in view["rules"]], view["ladder"]) == (["mean_below_plan"], "none")
    assert await stack.fetch("SELECT * FROM telemetry.outbox") == []


async def test_missing_telemetry_is_not_low_utilization_and_the_csp_is_told(stack: Stack) -> None:
    event, clock = allocated(), ManualClock(STARTS_AT + timedelta(hours=3))
    policy = POLICY.model_copy(update={"grace_days": 0})
    async with (stack.api("telemetry", clock=clock, policy=policy) as api,
                stack.worker("telemetry", clock=clock, policy=policy)):
        await deliver(stack, event)
        await tracked(api, event.allocation_id)
        # idle GPUs, but one sample in four minutes: 45 a GPU to 02:56, 90 of the 5.8667 x 60 = 352 expected
        await api.post("/samples", content=samples(0.0, minutes=range(0, 180, 4)), headers=CSP)
        [(kind, alert)] = await events_out(stack, at_least=1)
        seen = {who: await get(api, "/stale", headers=headers)
                for who, headers in (("operator", OPERATOR), ("gov", bearer("csp", csp_id("gov"))),
                                     ("beta", bearer("csp", csp_id("beta"))))}
        view = await get(api, f"/allocations/{event.allocation_id}/utilization")
        # the rest of the samples arrive: now it is judged, idle, and with no grace period reclaimed
        await api.post("/samples", content=samples(0.0, minutes=range(180)), headers=CSP)
        later = [k for k, _ in await events_out(stack, at_least=3)]
        ladder = await get(api, f"/allocations/{event.allocation_id}/ladder")
        after = await get(api, "/stale")
    assert (kind, alert["reason"], alert["csps"]) == ("telemetry_stale", "low_coverage", ["gov"])
    assert alert["coverage"] == pytest.approx(90 * 60 / 3600 / (2 * (2 + 56 / 60)), abs=1e-4)  # 0.2557
    assert view["ladder"] == "none" and view["stale_since"] == "2026-12-01T02:56:00Z"
    assert [r["judged"] for r in view["rules"]] == [False, False]
    assert [s["allocation_id"] for s in seen["operator"]] == [str(event.allocation_id)] == [
        s["allocation_id"] for s in seen["gov"]]
    assert "26% of the expected samples arrived" in seen["operator"][0]["reason"]
    assert seen["beta"] == []
    assert later == ["telemetry_stale", "utilization_dropped", "utilization_dropped"]
    assert [s["step"] for s in ladder["steps"]] == ["stale", "fresh", "warning", "reclaim"]
    assert after == []


async def test_a_silent_allocation_is_flagged_stale_once_by_the_worker(stack: Stack) -> None:
    event = allocated()
    policy = POLICY.model_copy(update={"stale_after_s": 3600})
    api_clock, worker_clock = ManualClock(STARTS_AT), ManualClock(STARTS_AT + timedelta(hours=2))
    async with (stack.api("telemetry", clock=api_clock, policy=policy) as api,
                stack.worker("telemetry", clock=worker_clock, policy=policy, storage=QUICK)):
        await deliver(stack, event)
        await tracked(api, event.allocation_id)
        [(kind, alert)] = await events_out(stack, at_least=1)
        [stale] = await get(api, "/stale")
        # more rounds of the worker say nothing more
        again = await events_out(stack, at_least=2, timeout=2)
    assert (kind, alert["reason"], alert["last_sample_at"]) == ("telemetry_stale", "silent", None)
    assert alert["detected_at"] == "2026-12-01T02:00:00Z"
    assert stale["reason"].startswith("no sample since the allocation started")
    assert len(again) == 1


async def test_after_a_waiver_monitoring_goes_on_and_a_new_drop_starts_a_new_ladder(stack: Stack) -> None:
    event, clock = allocated(), ManualClock(STARTS_AT + timedelta(hours=1, minutes=35))
    waived = ReclaimWaived(application_id=event.application_id, allocation_id=event.allocation_id,
                           waived_at=STARTS_AT + timedelta(hours=1, minutes=30))
    async with (stack.api("telemetry", clock=clock, policy=POLICY) as api,
                stack.worker("telemetry", clock=clock, policy=POLICY)):
        await deliver(stack, event)
        await tracked(api, event.allocation_id)
        await api.post("/samples", content=samples(10.0, minutes=range(90)), headers=CSP)
        await deliver(stack, waived)

        async def reset() -> Any:
            view = await get(api, f"/allocations/{event.allocation_id}/utilization")
            return view if view["waived_at"] else None
        view = await eventually(reset, what="the waiver")
        # the usage after the waiver is judged from the next whole hour, 02:00: an hour and more of it is a new drop
        clock.advance(seconds=3600 + 30 * 60)
        low = await api.post("/samples", content=samples(10.0, minutes=range(90, 186)), headers=CSP)
        ladder = await get(api, f"/allocations/{event.allocation_id}/ladder")
        drops = await events_out(stack, at_least=2)
    assert (view["ladder"], view["warned_at"]) == ("none", None)
    assert low.json()["allocations_evaluated"] == 1
    assert [(s["step"], s["at"]) for s in ladder["steps"]] == [
        ("warning", "2026-12-01T01:29:00Z"), ("waived", "2026-12-01T01:30:00Z"), ("warning", "2026-12-01T03:05:00Z")]
    assert ladder["steps"][2]["window_start"] == "2026-12-01T02:00:00Z"
    assert [body["level"] for _, body in drops] == ["warning", "warning"]


async def test_late_samples_are_dropped_and_counted_and_the_rest_stored_once(stack: Stack) -> None:
    clock = ManualClock(STARTS_AT + timedelta(hours=4))  # two hours' lateness: samples before 02:00 are late
    async with stack.api("telemetry", clock=clock, policy=POLICY.model_copy(update={"lateness_s": 7200})) as api:
        body = samples(50.0, minutes=range(60, 180))
        first = await api.post("/samples", content=body, headers=CSP)
        again = await api.post("/samples", content=body, headers=CSP)
    assert first.json() == {"accepted": 120, "duplicates": 0, "refused_late": 120, "allocations_evaluated": 0}
    assert again.json() == {"accepted": 0, "duplicates": 120, "refused_late": 120, "allocations_evaluated": 0}
    assert [r["first"] for r in await stack.fetch("SELECT min(ts) AS first FROM telemetry.sample")] == [
        STARTS_AT + timedelta(hours=2)]
    assert [r["samples"] for r in await stack.fetch("SELECT samples FROM telemetry.gpu_hour")] == [60, 60]


async def test_retention_drops_old_raw_partitions_and_keeps_the_rollups(stack: Stack) -> None:
    event = allocated()
    async with stack.api("telemetry", clock=ManualClock(STARTS_AT + timedelta(hours=1, minutes=35)),
                         policy=POLICY) as api, stack.worker("telemetry", clock=ManualClock(STARTS_AT),
                                                             policy=POLICY):
        await deliver(stack, event)
        await tracked(api, event.allocation_id)
        await api.post("/samples", content=samples(50.0, minutes=range(90)), headers=CSP)
        await stack.handle("telemetry", KeepPartitions(now=STARTS_AT + timedelta(days=5), retention_days=3))
        series = await get(api, f"/allocations/{event.allocation_id}/utilization/hourly",
                           start="2026-12-01T00:00:00Z", end="2026-12-02T00:00:00Z")
    partitions = {r["relname"] for r in await stack.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'telemetry.sample'::regclass")}
    # the worker, its clock at STARTS_AT, made the day before it to two days after; the run at December 6 made the
    # 5th to the 8th and dropped what is older than three days: November 30, December 1 and 2
    assert partitions == {f"sample_p{day:%Y%m%d}" for day in (date(2026, 12, d) for d in (3, 5, 6, 7, 8))}
    assert await stack.count("telemetry.sample") == 0
    assert (await stack.count("telemetry.gpu_hour"), await stack.count("telemetry.allocation_hour")) == (4, 2)
    assert [h["samples"] for h in series["hours"]] == [120, 60]


async def test_the_hourly_series_and_the_csp_s_freshness(stack: Stack) -> None:
    event, policy = allocated(), POLICY.model_copy(update={"lateness_s": 7200})
    reported, closing = ManualClock(STARTS_AT + timedelta(hours=1, minutes=35)), ManualClock(
        STARTS_AT + timedelta(hours=3, minutes=1))
    async with (stack.api("telemetry", clock=reported, policy=policy) as api,
                stack.worker("telemetry", clock=closing, policy=policy, storage=QUICK)):
        await deliver(stack, event)
        await tracked(api, event.allocation_id)
        # the minute's number as the busy % (0-59 in the first hour), 1000 MiB in use and 300 W drawn throughout
        await api.post("/samples", content=samples(minutes=range(90), memory_used_mib=1000.0, power_w=300.0),
                       headers=CSP)

        async def closed() -> Any:
            hours = (await get(api, f"/allocations/{event.allocation_id}/utilization/hourly",
                               start="2026-12-01T00:00:00Z", end="2026-12-01T02:00:00Z"))["hours"]
            return hours if hours and hours[0]["closed"] else None
        first, second = await eventually(closed, what="the first hour to close")
        fresh = {who: await api.get(f"/csps/{csp_id('gov')}/freshness", headers=headers)
                 for who, headers in (("gov", bearer("csp", csp_id("gov"))), ("beta", bearer("csp", csp_id("beta"))),
                                      ("operator", OPERATOR))}
        too_long = await api.get(f"/allocations/{event.allocation_id}/utilization/hourly", headers=OPERATOR,
                                 params={"start": "2026-01-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"})
    # hour 00: 2 GPUs x 60 samples of 0..59%: mean 29.5%, 2 reserved GPU-hours all covered, 0.59 busy;
    # p95 of the 120 values (each twice): 0.95 x 119 = 113.05th, between 56 and 57: 56.05;
    # 300 W over the 2 GPU-hours the samples stand for: 0.6 kWh
    assert first["hour"] == "2026-12-01T00:00:00Z" and first["closed"] is True
    assert (first["reserved_gpu_hours"], first["coverage"], first["samples"]) == (2.0, 1.0, 120)
    assert first["utilization_pct"] == pytest.approx(29.5)
    assert first["busy_gpu_hours"] == pytest.approx(0.59)
    assert first["utilization_pct_p95"] == pytest.approx(56.05, abs=1e-3)
    assert (first["memory_used_mib"], first["energy_kwh"]) == (1000.0, pytest.approx(0.6))
    # hour 01 still open (a 02:00 close needs the clock past 04:00): half covered, no p95 yet
    assert (second["closed"], second["utilization_pct_p95"], second["coverage"]) == (False, None, 0.5)
    assert fresh["gov"].status_code == fresh["operator"].status_code == 200
    assert fresh["gov"].json()["servers"] == [{"server": SERVER, "gpus": 2, "last_sample_at": "2026-12-01T01:29:00Z",
                                               "age_s": 360.0}]
    assert fresh["beta"].status_code == 403
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "start"


async def test_an_allocation_announced_after_its_samples_counts_them(stack: Stack) -> None:
    event, clock = allocated(), ManualClock(STARTS_AT + timedelta(hours=1, minutes=35))
    async with (stack.api("telemetry", clock=clock, policy=POLICY) as api,
                stack.worker("telemetry", clock=clock, policy=POLICY)):
        early = await api.post("/samples", content=samples(40.0, minutes=range(90)), headers=CSP)
        await deliver(stack, event)  # its event parked and re-driven, say: it comes after the samples
        await tracked(api, event.allocation_id)
        view = await get(api, f"/allocations/{event.allocation_id}/utilization")
    assert early.json() == {"accepted": 180, "duplicates": 0, "refused_late": 0, "allocations_evaluated": 0}
    assert (view["samples_counted"], view["utilization_pct"], view["last_sample_at"]) == (
        180, 40.0, "2026-12-01T01:29:00Z")
    assert [tuple(r) for r in await stack.fetch("SELECT hour, samples FROM telemetry.allocation_hour "
                                                 "ORDER BY hour")] == [
        (STARTS_AT, 120), (STARTS_AT + timedelta(hours=1), 60)]
