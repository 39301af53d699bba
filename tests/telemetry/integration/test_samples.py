"""Telemetry on the real database and broker: allocations from Kafka, CSP batches over HTTP, events out."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from contracts import GpuSlot, ResourceAllocated, ResourceReclaimed, to_record, topics
from contracts.events.common import Program
from support.auth import OPERATOR, bearer, csp_id
from support.clock import ManualClock
from support.kafka import produce_raw, read_topic
from support.stack import Stack, eventually
from telemetry.config import PolicySettings, StorageSettings

NDJSON = {"Content-Type": "application/x-ndjson"}
STARTS_AT = datetime(2026, 12, 1, tzinfo=UTC)
SERVER = "p3-gov-01"
# the API's clock: the samples, the allocation's first 90 minutes, are reported a few minutes after the newest
# (none is in the future, none late)
REPORTED = ManualClock(STARTS_AT + timedelta(hours=1, minutes=35))
# an hour of samples is enough to judge here (24 by default); a quiet allocation is flagged only after a day
POLICY = PolicySettings(min_judged_hours=1, stale_after_s=86_400)
# a worker that closes the allocation's first hour: 03:31 less the two hours' lateness is 01:31, so 00:00-01:00
CLOSING = ManualClock(STARTS_AT + timedelta(hours=3, minutes=31))
QUICK = StorageSettings(upkeep_interval_s=0.2)


def allocated(gpus: int = 2, planned_gpu_hours_per_month: int = 730, program: Program = "P3") -> ResourceAllocated:
    """2 GPUs planned at 730 h/month: 50% planned, so a 15% threshold."""
    return ResourceAllocated(
        application_id=uuid.uuid4(), allocation_id=uuid.uuid4(), program=program, gpu_model="H100", gpus=gpus,
        slots=[GpuSlot(server_id=uuid.uuid4(), server_name=SERVER, csp="gov", csp_id=csp_id("gov"), gpu_index=i)
               for i in range(gpus)],
        starts_at=STARTS_AT, ends_at=STARTS_AT + timedelta(days=90),
        planned_gpu_hours_per_month=planned_gpu_hours_per_month)


Line = dict[str, Any]


def as_csp(name: str = "gov") -> dict[str, str]:
    """A batch's headers, sent by the CSP `name`: "gov" hosts SERVER in allocated()."""
    return {**NDJSON, **bearer("csp", csp_id(name))}


def batch(utilization_pct: float, *, minutes: int = 90, gpus: int = 2, server: str = SERVER,
          first: int = 0) -> list[Line]:
    """A sample a minute per GPU from the allocation's start (+ `first` minutes)."""
    return [{"server": server, "gpu_index": gpu, "utilization_pct": utilization_pct,
             "ts": (STARTS_AT + timedelta(minutes=first + m)).isoformat().replace("+00:00", "Z")}
            for m in range(minutes) for gpu in range(gpus)]


def ndjson(lines: list[Line]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


async def deliver(stack: Stack, event: ResourceAllocated | ResourceReclaimed) -> None:
    record = to_record(event, source="/gpu-platform/allocation")
    await produce_raw(stack.infra.kafka_bootstrap, stack.topic(topics.ALLOCATIONS), record.value,
                      key=record.key, headers=record.headers)


async def tracked(api: httpx.AsyncClient, allocation_id: uuid.UUID) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await api.get(f"/allocations/{allocation_id}/utilization", headers=OPERATOR)
        return response.json() if response.status_code == 200 else None
    return await eventually(probe, what=f"allocation {allocation_id} to be tracked")



async def published(stack: Stack, *, at_least: int, timeout: float = 30.0) -> list[tuple[str, Line]]:
    """(type, body) of every event on the utilization topic."""
    records = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.UTILIZATION),
                               at_least=at_least, timeout=timeout)
    return [(dict(r.headers)["ce_type"].decode(), json.loads(r.value)) for r in records]


@pytest.mark.parametrize("switched_on", [False, True])
async def test_a_p1_allocation_is_judged_only_once_p1_is_switched_on_and_its_usage_is_recorded_either_way(
        stack: Stack, switched_on: bool) -> None:
    event = allocated(program="P1")
    policy = POLICY.model_copy(update={"monitored_programs": {"P1", "P3"} if switched_on else {"P3"}})
    async with (stack.api("telemetry", clock=REPORTED, policy=policy) as api,
                stack.worker("telemetry", clock=CLOSING, policy=policy, storage=QUICK)):
        await deliver(stack, event)
        await tracked(api, event.allocation_id)
        response = await api.post("/samples", content=ndjson(batch(10.0)), headers=as_csp())
        assert response.json() == {"accepted": 180, "duplicates": 0, "refused_late": 0,
                                   "allocations_evaluated": int(switched_on)}
        events = await published(stack, at_least=1 + int(switched_on))
        # then everything the topic holds after two seconds more: no warning comes later either
        events = await published(stack, at_least=len(events) + 1, timeout=2)
    assert sorted(kind for kind, _ in events) == sorted(
        ["telemetry.usage_recorded.v1"] + ["telemetry.utilization_dropped.v1"] * switched_on)


async def test_a_low_batch_for_an_allocation_from_kafka_publishes_a_warning_and_usage(stack: Stack) -> None:
    event = allocated()
    async with (stack.api("telemetry", clock=REPORTED, policy=POLICY) as api,
                stack.worker("telemetry", clock=CLOSING, policy=POLICY, storage=QUICK)):
        await deliver(stack, event)
        await tracked(api, event.allocation_id)
        response = await api.post("/samples", content=ndjson(batch(10.0)), headers=as_csp())
        assert response.status_code == 202, response.text
        assert response.json() == {"accepted": 180, "duplicates": 0, "refused_late": 0, "allocations_evaluated": 1}
        events = dict(await published(stack, at_least=2))
    warning = events["telemetry.utilization_dropped.v1"]
    assert (warning["level"], warning["rule"]) == ("warning", "mean_below_plan")
    assert warning["allocation_id"] == str(event.allocation_id)
    assert warning["utilization_pct"] == pytest.approx(10.0)
    assert warning["threshold_pct"] == 15.0
    assert (warning["window_start"], warning["window_end"]) == ("2026-12-01T00:00:00Z", "2026-12-01T01:29:00Z")
    assert warning["coverage"] == 1.0
    # the closed hour 00:00-01:00 only: 2 GPUs x 60 samples at 10% busy = 0.2 busy GPU-hours of 2 reserved
    usage = events["telemetry.usage_recorded.v1"]
    assert (usage["window_start"], usage["window_end"]) == ("2026-12-01T00:00:00Z", "2026-12-01T01:00:00Z")
    assert usage["gpu_hours"] == pytest.approx(0.2)
    assert usage["utilization_pct"] == pytest.approx(10.0)


async def test_without_a_grace_period_the_first_drop_warns_and_asks_for_the_reclaim(stack: Stack) -> None:
    event, policy = allocated(), POLICY.model_copy(update={"grace_days": 0})
    async with (stack.api("telemetry", clock=REPORTED, policy=policy) as api,
                stack.worker("telemetry", clock=REPORTED, policy=policy)):
        await deliver(stack, event)
        await tracked(api, event.allocation_id)
        await api.post("/samples", content=ndjson(batch(5.0)), headers=as_csp())
        state = (await api.get(f"/allocations/{event.allocation_id}/utilization", headers=OPERATOR)).json()
        events = await published(stack, at_least=2)  # the warning and the reclaim
    drops = [body["level"] for kind, body in events if kind == "telemetry.utilization_dropped.v1"]
    assert drops == ["warning", "reclaim"]  # the warning first, always: allocation reclaims only a warned one
    assert state["ladder"] == "reclaim_requested"


async def test_a_warned_allocation_that_recovers_publishes_the_recovery_and_starts_over(stack: Stack) -> None:
    event, clock = allocated(), ManualClock(REPORTED())
    async with (stack.api("telemetry", clock=clock, policy=POLICY) as api,
                stack.worker("telemetry", clock=REPORTED, policy=POLICY)):
        await deliver(stack, event)
        await tracked(api, event.allocation_id)
        await api.post("/samples", content=ndjson(batch(10.0)), headers=as_csp())
        clock.advance(seconds=3600)
        await api.post("/samples", content=ndjson(batch(90.0, first=90, minutes=60)), headers=as_csp())
        state = (await api.get(f"/allocations/{event.allocation_id}/utilization", headers=OPERATOR)).json()
        events = await published(stack, at_least=2)  # the drop and the recovery
    types = [t for t, _ in events]
    assert types.count("telemetry.utilization_dropped.v1") == 1
    recovered = dict(events)["telemetry.utilization_recovered.v1"]
    assert recovered["utilization_pct"] == pytest.approx((180 * 10.0 + 120 * 90.0) / 300)  # 42%
    assert recovered["threshold_pct"] == 15.0
    assert (state["ladder"], state["warned_at"]) == ("none", None)


async def test_the_utilization_view_shows_the_plan_the_window_and_the_ladder(stack: Stack) -> None:
    event = allocated()
    async with (stack.api("telemetry", clock=REPORTED, policy=POLICY) as api,
                stack.worker("telemetry", clock=REPORTED, policy=POLICY)):
        await deliver(stack, event)
        before = await tracked(api, event.allocation_id)
        await api.post("/samples", content=ndjson(batch(10.0)), headers=as_csp())
        after = (await api.get(f"/allocations/{event.allocation_id}/utilization", headers=OPERATOR)).json()
    assert (before["planned_pct"], before["threshold_pct"]) == (50.0, 15.0)
    assert (before["samples_counted"], before["utilization_pct"], before["ladder"]) == (0, None, "none")
    assert after["samples_counted"] == 180
    assert after["utilization_pct"] == pytest.approx(10.0)
    assert after["ladder"] == "warned"
    assert after["last_sample_at"] == after["warned_at"] == "2026-12-01T01:29:00Z"
    assert [(r["rule"], r["judged"], r["short"]) for r in after["rules"]] == [
        ("mean_below_plan", True, True), ("gpu_hours_below_plan", True, True)]


async def test_a_batch_with_one_bad_line_is_refused_naming_the_line_and_stores_nothing(stack: Stack) -> None:
    lines = ndjson(batch(10.0, minutes=2)).splitlines()
    lines[2] = json.dumps({"server": SERVER, "gpu_index": 0, "ts": "2026-12-01T01:00:00Z",
                           "utilization_pct": 101})
    async with stack.api("telemetry", clock=REPORTED) as api:
        response = await api.post("/samples", content="\n".join(lines), headers=as_csp())
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["line 3: utilization_pct"]
    assert "100" in response.json()["errors"][0]["reason"]
    assert await stack.fetch("SELECT * FROM telemetry.sample") == []
    assert await stack.fetch("SELECT * FROM telemetry.outbox") == []


async def test_every_kind_of_bad_line_is_named_with_its_reason(stack: Stack) -> None:
    good = {"server": SERVER, "gpu_index": 0, "ts": "2026-12-01T01:00:00Z", "utilization_pct": 50}
    lines = ["{not json", json.dumps({k: v for k, v in good.items() if k != "server"}),
             json.dumps({**good, "ts": "2026-12-01T01:00:00"}), json.dumps({**good, "gpu_index": -1}),
             json.dumps({**good, "utilization_pct": -0.5}), json.dumps(good)]
    async with stack.api("telemetry", clock=REPORTED) as api:
        response = await api.post("/samples", content="\n".join(lines), headers=as_csp())
    errors = {e["field"]: e["reason"] for e in response.json()["errors"]}
    assert response.status_code == 422
    assert set(errors) == {"line 1", "line 2: server", "line 3: ts", "line 4: gpu_index",
                           "line 5: utilization_pct"}
    assert "JSON" in errors["line 1"]
    assert "timezone" in errors["line 3: ts"]
    assert await stack.fetch("SELECT * FROM telemetry.sample") == []


async def test_a_resent_batch_counts_duplicates_and_publishes_nothing_twice(stack: Stack) -> None:
    event, body = allocated(), ndjson(batch(10.0))
    async with (stack.api("telemetry", clock=REPORTED, policy=POLICY) as api,
                stack.worker("telemetry", clock=CLOSING, policy=POLICY, storage=QUICK)):
        await deliver(stack, event)
        await tracked(api, event.allocation_id)
        first = await api.post("/samples", content=body, headers=as_csp())
        again = await api.post("/samples", content=body, headers=as_csp())
        await eventually(lambda: stack.fetch("SELECT 1 FROM telemetry.outbox WHERE published_at IS NOT NULL "
                                              "HAVING count(*) = 2"), what="both events to be relayed")
        events = await published(stack, at_least=3, timeout=3.0)
    assert first.json()["accepted"] == 180
    assert again.json() == {"accepted": 0, "duplicates": 180, "refused_late": 0, "allocations_evaluated": 0}
    assert sorted(t for t, _ in events) == ["telemetry.usage_recorded.v1", "telemetry.utilization_dropped.v1"]
    assert len(await stack.fetch("SELECT * FROM telemetry.sample")) == 180
    # the hour's rollup counts each sample once
    assert [r["samples"] for r in await stack.fetch("SELECT samples FROM telemetry.allocation_hour "
                                                     "ORDER BY hour")] == [120, 60]


async def test_after_a_reclaim_samples_are_stored_but_no_longer_judged(stack: Stack) -> None:
    event = allocated()
    reclaimed = ResourceReclaimed(application_id=event.application_id, allocation_id=event.allocation_id,
                                  gpus=2, reason="operator", reclaimed_at=STARTS_AT + timedelta(hours=1))
    async with (stack.api("telemetry", clock=REPORTED, policy=POLICY) as api,
                stack.worker("telemetry", clock=REPORTED, policy=POLICY)):
        await deliver(stack, event)
        await deliver(stack, reclaimed)

        async def ended() -> dict[str, Any] | None:
            state = (await api.get(f"/allocations/{event.allocation_id}/utilization", headers=OPERATOR)).json()
            return state if state.get("ended_at") else None
        state = await eventually(ended, what="the reclaim to be recorded")
        response = await api.post("/samples", content=ndjson(batch(1.0)), headers=as_csp())
    assert state["ended_at"] == "2026-12-01T01:00:00Z"
    assert response.json() == {"accepted": 180, "duplicates": 0, "refused_late": 0, "allocations_evaluated": 0}
    assert await stack.fetch("SELECT * FROM telemetry.outbox") == []


async def test_samples_of_gpus_nobody_holds_are_stored_without_effects(stack: Stack) -> None:
    async with stack.api("telemetry", clock=REPORTED) as api:
        response = await api.post("/samples", content=ndjson(batch(0.0, server="p3-gov-99")), headers=as_csp())
    assert response.json() == {"accepted": 180, "duplicates": 0, "refused_late": 0, "allocations_evaluated": 0}
    assert await stack.fetch("SELECT * FROM telemetry.outbox") == []


async def test_a_batch_over_the_line_limit_is_refused_whole(stack: Stack) -> None:
    async with stack.api("telemetry", clock=REPORTED, policy=PolicySettings(max_batch_lines=10)) as api:
        response = await api.post("/samples", content=ndjson(batch(50.0, minutes=6)), headers=as_csp())
    assert response.status_code == 413
    assert await stack.fetch("SELECT * FROM telemetry.sample") == []


async def test_a_body_that_is_not_ndjson_is_refused(stack: Stack) -> None:
    async with stack.api("telemetry", clock=REPORTED) as api:
        response = await api.post("/samples", json=batch(50.0, minutes=1), headers=bearer("csp", csp_id("gov")))
    assert response.status_code == 415


async def test_an_untracked_allocation_has_no_utilization(stack: Stack) -> None:
    async with stack.api("telemetry", clock=REPORTED) as api:
        response = await api.get(f"/allocations/{uuid.uuid4()}/utilization", headers=OPERATOR)
    assert response.status_code == 404


async def test_a_batch_naming_servers_of_another_csp_is_refused_whole_naming_each_line(stack: Stack) -> None:
    event = allocated()  # SERVER is gov's
    foreign = [*batch(10.0, minutes=1, server="beta-01"), *batch(10.0, minutes=1)]
    async with stack.api("telemetry", clock=REPORTED) as api, stack.worker("telemetry", clock=REPORTED, policy=POLICY):
        await deliver(stack, event)
        await tracked(api, event.allocation_id)
        refused = await api.post("/samples", content=ndjson(foreign), headers=as_csp("beta"))
        stored_after_refusal = await stack.count("telemetry.sample")
        own = await api.post("/samples", content=ndjson(foreign[:2]), headers=as_csp("beta"))
    assert refused.status_code == 403
    assert refused.json()["errors"] == [{"field": f"line {n}: server",
                                         "reason": f"{SERVER} is not a server of CSP {csp_id('beta')}"}
                                        for n in (3, 4)]
    assert stored_after_refusal == 0
    assert await stack.fetch("SELECT * FROM telemetry.outbox") == []
    # beta-01 is in no tracked allocation: no owner is known yet, so its samples are taken from whoever sends them
    assert (own.status_code, own.json()["accepted"]) == (202, 2)


async def test_the_utilization_is_shown_to_the_csp_hosting_the_allocation_and_to_no_other(stack: Stack) -> None:
    event = allocated()
    async with stack.api("telemetry", clock=REPORTED) as api, stack.worker("telemetry", clock=REPORTED, policy=POLICY):
        await deliver(stack, event)
        await tracked(api, event.allocation_id)
        found = {csp: await api.get(f"/allocations/{event.allocation_id}/utilization",
                                    headers=bearer("csp", csp_id(csp)))
                 for csp in ("gov", "beta")}
    assert found["gov"].status_code == 200
    assert found["gov"].json()["allocation_id"] == str(event.allocation_id)
    assert found["beta"].status_code == 404
    assert "not tracked" in found["beta"].json()["detail"]


async def test_a_line_dated_past_the_clock_skew_is_named_and_the_batch_stores_nothing(stack: Stack) -> None:
    clock = ManualClock(STARTS_AT + timedelta(minutes=89) - timedelta(minutes=5))  # the newest line - 5'
    async with stack.api("telemetry", clock=clock) as api:
        at_the_skew = await api.post("/samples", content=ndjson(batch(50.0)), headers=as_csp())
        clock.advance(seconds=-1)
        past_it = await api.post("/samples", content=ndjson(batch(50.0, server="p3-gov-02")), headers=as_csp())
    assert at_the_skew.status_code == 202, at_the_skew.text
    assert past_it.status_code == 422
    assert past_it.json()["errors"] == [{"field": f"line {n}: ts", "reason": "2026-12-01T01:29:00+00:00 is after "
                                         "2026-12-01T01:28:59+00:00, the server's clock and its allowed skew"}
                                        for n in (179, 180)]  # minute 89, both GPUs
    assert {r["server_name"] for r in await stack.fetch("SELECT server_name FROM telemetry.gpu")} == {SERVER}
