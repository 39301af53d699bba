"""One P3 application from submission to the billing ledger, across all five services running as real processes.

Every step is checked through the services' HTTP APIs; nothing peeks into another service's tables. The submission
carries a W3C `traceparent`, and its trace id shows in the JSON logs of every service the application goes through.
"""
from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from contracts import topics
from support.auth import OPERATOR, bearer
from support.billing import KST
from support.kafka import produce_raw, read_topic, wait_consumed
from support.processes import LOG_ROOT, ServiceProcesses
from support.stack import Stack, eventually

pytestmark = pytest.mark.e2e

PARTNER = bearer("partner", uuid.uuid4())
GPUS = 4
PLANNED_GPU_HOURS = 2000
MARKET_PRICE_KRW = 5200  # gov-dc's price of an H100 GPU-hour (billing's default is another: 4000)
TRACE_ID = uuid.uuid4().hex  # the partner's trace, in which the application is submitted
TRACEPARENT = f"00-{TRACE_ID}-{uuid.uuid4().hex[:16]}-01"
JOURNEY = {"intake", "evaluation", "allocation", "telemetry", "billing"}  # the services it goes through


def p3_application(today: date, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "program": "P3",
        "applicant": {"name": "Dr. Park", "sector": "academia", "institution": "GIST", "region": "Gwangju"},
        "gpus_requested": GPUS, "gpu_model": "H100", "earliest_start": today.isoformat(),
        "acceptable_window_months": 2, "period_start": today.isoformat(),
        "period_end": (today + timedelta(days=89)).isoformat(),
        "planned_gpu_hours_per_month": PLANNED_GPU_HOURS, "purpose": "a Korean speech model",
    }
    body.update(overrides)
    return body


@pytest.fixture
async def services(stack: Stack, request: pytest.FixtureRequest) -> AsyncIterator[dict[str, str]]:
    # the reclaim ladder without its grace period, so one low batch is enough to reclaim; the batch covers the
    # allocation's first hour from midnight, ahead of the clock just after midnight or far behind it late in the
    # day: a day's skew and lateness are allowed, and an hour is enough to judge
    processes = ServiceProcesses(stack.infra, stack.database, stack.topic_prefix,
                                 extra_env={"TELEMETRY_POLICY__GRACE_DAYS": "0",
                                            "TELEMETRY_POLICY__MAX_CLOCK_SKEW_S": "86400",
                                            "TELEMETRY_POLICY__LATENESS_S": "86400",
                                            "TELEMETRY_POLICY__MIN_JUDGED_HOURS": "1"})
    try:
        await processes.start(request.node.name)
        yield processes.urls
    finally:
        await processes.stop()


async def json_of(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_a_p3_application_goes_from_submission_to_the_ledger(services: dict[str, str], stack: Stack,
                                                                request: pytest.FixtureRequest) -> None:
    intake, evaluation, allocation = services["intake"], services["evaluation"], services["allocation"]
    telemetry, billing = services["telemetry"], services["billing"]
    # the test's day in Korea, the programs' calendar, taken as it starts (not when the module was collected)
    today = datetime.now(KST).date()
    async with httpx.AsyncClient(timeout=10) as http:
        # the government pool: one server of 8 H100s, and its market price
        gov_dc = await json_of(await http.post(f"{allocation}/csps", json={"name": "gov-dc"}, headers=OPERATOR), 201)
        csp = bearer("csp", gov_dc["id"])  # the CSP that owns the server, for telemetry: named by its id
        await json_of(await http.post(f"{allocation}/servers", json={
            "csp": "gov-dc", "name": "p3-gov-01", "region": "Gwangju", "gpu_model": "H100", "gpus": 8,
            "pool": "P3"}, headers=OPERATOR), 201)
        # from today on in Korea's calendar: from the allocation's start, its midnight (15:00 UTC the day before)
        await json_of(await http.put(f"{billing}/market-prices/gov-dc/H100/{today.isoformat()}",
                                     json={"krw_per_gpu_hour": MARKET_PRICE_KRW}, headers=OPERATOR))

        # 1. invalid input is refused naming the field, and nothing is stored
        missing_applicant = p3_application(today)
        del missing_applicant["applicant"]
        for body, field in ((p3_application(today, gpus_requested=0), "gpus_requested"),
                            (p3_application(today, program="P7"), "program"), (missing_applicant, "applicant")):
            problem = await json_of(await http.post(f"{intake}/applications", json=body, headers=PARTNER), 422)
            assert [e["field"] for e in problem["errors"]] == [field]
        assert await json_of(await http.get(f"{intake}/applications", headers=PARTNER)) == {
            "items": [], "next_cursor": None}

        application = await json_of(await http.post(f"{intake}/applications", json=p3_application(today),
                                                    headers={**PARTNER, "traceparent": TRACEPARENT}), 201)
        app_id = application["id"]

        # 2. evaluation scores it: eligible, readiness from the plan
        async def evaluated() -> Any:
            response = await http.get(f"{evaluation}/evaluations/{app_id}", headers=OPERATOR)
            return response.json() if response.status_code == 200 else None

        scored = await eventually(evaluated, what="the evaluation")
        assert scored["status"] == "eligible"
        assert scored["score"] == pytest.approx(40 + 60 * min(1, PLANNED_GPU_HOURS / (GPUS * 730)), abs=0.01)

        # 3. allocation places it on concrete GPUs of the P3 pool
        async def allocated() -> Any:
            found = (await http.get(f"{allocation}/allocations", params={"application_id": app_id},
                                    headers=OPERATOR)).json()
            return found[0] if found else None

        placed = await eventually(allocated, what="the allocation")
        assert placed["status"] == "active"
        assert sorted((s["server_name"], s["gpu_index"]) for s in placed["slots"]) == [
            ("p3-gov-01", i) for i in range(GPUS)]
        starts_at = datetime.fromisoformat(placed["starts_at"])
        assert starts_at == datetime.combine(today, datetime.min.time(), KST)
        capacity = await json_of(await http.get(f"{allocation}/pools/P3/capacity",
                                                params={"gpu_model": "H100"}, headers=OPERATOR))
        assert capacity["free_gpus"] == 8 - GPUS
        await eventually(lambda: status_is(http, intake, app_id, "active"), what="intake to show it active")

        # 4. the CSP reports low utilization for those GPUs; telemetry calls for the reclaim
        await eventually(lambda: known_to_telemetry(http, telemetry, placed["id"], csp), what="telemetry to track it")
        samples = [{"server": s["server_name"], "gpu_index": s["gpu_index"],
                    "ts": (starts_at + timedelta(minutes=m)).isoformat(), "utilization_pct": 4.0}
                   for s in placed["slots"] for m in range(1, 61)]  # an hour: enough to judge (the setting)
        ndjson = "\n".join(json.dumps(s) for s in samples) + "\n"
        batch = await json_of(await http.post(f"{telemetry}/samples", content=ndjson,
                                              headers={**csp, "Content-Type": "application/x-ndjson"}), 202)
        assert batch == {"accepted": len(samples), "duplicates": 0, "refused_late": 0, "allocations_evaluated": 1}

        # 5. allocation reclaims the GPUs: they are back in the pool
        async def reclaimed() -> Any:
            found = (await http.get(f"{allocation}/allocations/{placed['id']}", headers=OPERATOR)).json()
            return found if found["status"] == "reclaimed" else None

        ended = await eventually(reclaimed, what="the reclaim")
        assert ended["end_reason"] == "low_utilization"
        reclaimed_at = datetime.fromisoformat(ended["ended_at"])
        assert reclaimed_at == starts_at + timedelta(minutes=60)
        # from the reclaim on, the GPUs are free (the samples may lie ahead of the clock just after midnight)
        capacity = await json_of(await http.get(f"{allocation}/pools/P3/capacity",
                                                params={"gpu_model": "H100", "at": reclaimed_at.isoformat()},
                                                headers=OPERATOR))
        assert capacity["free_gpus"] == 8
        await eventually(lambda: status_is(http, intake, app_id, "reclaimed"), what="intake to show it reclaimed")

        # 6. billing charges the allocated period: once the allocation's two events are on their topic and billing has
        # read its topics to the end, its ledger holds the market value of GPUS x the whole minutes from the start to
        # the reclaim (00:00-01:00 in Korea: one segment, the month's start at most its start), all of it owed by the
        # government
        assert len(await allocation_records(stack, app_id)) == 2  # allocated, reclaimed
        await billing_caught_up(stack)
        ledger = await ledger_of(http, billing, app_id)
        government = [line for line in ledger if line["payer_kind"] == "government"]
        billed_minutes = 60  # 00:00 to 01:00 in Korea, the reclaim minute (step 5)
        assert sum(SIGN[line["direction"]] * gpu_minutes(line) for line in government) == GPUS * billed_minutes
        assert [(line["period_start"], line["period_end"], line["gpus"], line["krw_per_gpu_hour"], line["csp"],
                 Decimal(line["share_pct"]), Decimal(line["gpu_hours"])) for line in standing(government)] == [
            (starts_at, reclaimed_at, GPUS, MARKET_PRICE_KRW, "gov-dc", Decimal(100), Decimal(GPUS))]
        market_value = (Decimal(GPUS * billed_minutes * MARKET_PRICE_KRW) / 60).quantize(Decimal(1), ROUND_HALF_UP)
        assert sum(line["amount_krw"] for line in government) == market_value == 20_800
        assert sum(line["amount_krw"] for line in ledger if line["payer_kind"] != "government") == 0  # P3 pays 0

        # one trace from the submission on: every service logged its part of the journey under its trace id
        assert traced_services(request.node.name, TRACE_ID) >= JOURNEY

        # the allocation events delivered a second time change nothing
        await redeliver_allocation_events(stack, app_id)
        await wait_consumed(stack.infra.kafka_bootstrap, "billing", stack.topic(topics.ALLOCATIONS))
        assert await ledger_of(http, billing, app_id) == ledger


def traced_services(test: str, trace_id: str) -> set[str]:
    """The services whose JSON log lines (`.local/logs/e2e/<test>/<svc>-<role>.log`) name the trace."""
    found: set[str] = set()
    for log in (LOG_ROOT / test).glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # what a process printed outside its logging
            if isinstance(entry, dict) and entry.get("trace_id") == trace_id:
                found.add(entry["service"])
    return found


async def status_is(http: httpx.AsyncClient, intake: str, app_id: str, status: str) -> bool:
    response = await http.get(f"{intake}/applications/{app_id}", headers=PARTNER)
    return bool(response.json()["status"] == status)


async def known_to_telemetry(http: httpx.AsyncClient, telemetry: str, allocation_id: str,
                             csp: dict[str, str]) -> bool:
    """Tracked, and shown to the CSP that hosts it (by its id)."""
    return (await http.get(f"{telemetry}/allocations/{allocation_id}/utilization", headers=csp)).status_code == 200


SIGN = {"charge": 1, "reversal": -1}


def gpu_minutes(line: dict[str, Any]) -> int:
    """A ledger line's basis, GPUs x the whole minutes of its period (a reversal's too: its sign is its direction)."""
    minutes = (datetime.fromisoformat(line["period_end"]) - datetime.fromisoformat(line["period_start"])) // timedelta(
        minutes=1)
    return int(line["gpus"]) * minutes


def standing(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines whose key is charged once more than it is reversed, periods parsed, in period order."""
    net: dict[tuple[Any, ...], int] = defaultdict(int)
    last: dict[tuple[Any, ...], dict[str, Any]] = {}
    for line in lines:
        key = tuple(line[k] for k in ("allocation_id", "payer_key", "csp", "period_start", "period_end", "gpus",
                                      "krw_per_gpu_hour", "share_pct"))
        net[key] += SIGN[line["direction"]]
        if line["direction"] == "charge":
            last[key] = line
    assert set(net.values()) <= {0, 1}, net  # never charged twice, never reversed uncharged
    found = [{**last[k], "period_start": datetime.fromisoformat(last[k]["period_start"]),
              "period_end": datetime.fromisoformat(last[k]["period_end"])} for k, n in net.items() if n == 1]
    return sorted(found, key=lambda line: line["period_start"])


async def ledger_of(http: httpx.AsyncClient, billing: str, app_id: str) -> list[dict[str, Any]]:
    """Every ledger line of the application, in the order posted."""
    lines: list[dict[str, Any]] = []
    after = 0
    while True:
        page = await json_of(await http.get(f"{billing}/ledger", params={"application_id": app_id, "after": after,
                                                                          "limit": 500}, headers=OPERATOR))
        lines += page["items"]
        if page["next_after"] is None:
            return lines
        after = page["next_after"]


async def billing_caught_up(stack: Stack) -> None:
    """Billing has read to the end every topic whose events change what an application owes."""
    for topic in (topics.APPLICATIONS, topics.SCORES, topics.ALLOCATIONS):
        await wait_consumed(stack.infra.kafka_bootstrap, "billing", stack.topic(topic))


async def allocation_records(stack: Stack, app_id: str) -> list[Any]:
    """The application's records on the allocations topic, once two have arrived there."""
    records = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.ALLOCATIONS), at_least=2)
    return [r for r in records if r.key == app_id.encode()]


async def redeliver_allocation_events(stack: Stack, app_id: str) -> None:
    topic = stack.topic(topics.ALLOCATIONS)
    records = await allocation_records(stack, app_id)
    assert len(records) == 2  # allocated, reclaimed
    allocated = dict(records[0].headers)["ce_traceparent"].decode()
    assert allocated.split("-")[1] == TRACE_ID  # placed in the trace in which the application was submitted
    for record in records:
        await produce_raw(stack.infra.kafka_bootstrap, topic, record.value, key=record.key,
                          headers=list(record.headers))


