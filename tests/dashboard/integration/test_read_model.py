"""The dashboard on the real broker and database: every topic read into its model, the story of an application,
the funnel, the live stream, operators only, and a model rebuilt from the topics equal to the one built live."""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from contracts import (
    Applicant,
    ApplicationScored,
    ApplicationSubmitted,
    Event,
    GpuSlot,
    InvoiceIssued,
    MarketPriceSet,
    ResourceAllocated,
    ResourceReclaimed,
    TelemetryStale,
    to_record,
    topics,
)
from contracts.events.common import Program
from support.auth import OPERATOR, bearer, served
from support.clock import ManualClock
from support.infra import free_port
from support.kafka import produce_raw, rewind
from support.services import SERVICES
from support.stack import Stack, eventually

AT = datetime(2026, 12, 1, 9, tzinfo=UTC)
NOW = ManualClock(AT + timedelta(days=10))  # the dashboard's clock: every allocation of the tests under way


async def publish(stack: Stack, *events: Event) -> None:
    for event in events:
        record = to_record(event, source="/gpu-platform/test")
        await produce_raw(stack.infra.kafka_bootstrap, stack.topic(event.topic), record.value, key=record.key,
                          headers=record.headers)


def journey(application_id: uuid.UUID, *, program: Program = "P3", gpus: int = 4) -> list[Event]:
    """An application's story across four services' topics: submitted, scored, allocated, then reclaimed."""
    allocation_id = uuid.uuid4()
    period = {"gpus_requested": gpus, "gpu_model": "H100", "period_start": date(2026, 12, 1),
              "period_end": date(2027, 2, 28), "planned_gpu_hours_per_month": 1000}
    return [
        ApplicationSubmitted(application_id=application_id, partner_id=uuid.uuid4(), program=program,
                             applicant=Applicant(name="Dr. Kim", sector="academia", institution="KAIST",
                                                 region="Daejeon"),
                             purpose="fine-tuning a Korean LLM", occurred_at=AT, **period),
        ApplicationScored(application_id=application_id, program=program, score=71.5, policy_version="2026.1",
                          institution="KAIST", occurred_at=AT + timedelta(minutes=1), **period),
        ResourceAllocated(application_id=application_id, allocation_id=allocation_id, program=program,
                          gpu_model="H100", gpus=gpus,
                          slots=[GpuSlot(server_id=uuid.uuid4(), server_name="p3-gov-01", csp="gov", gpu_index=i)
                                 for i in range(gpus)],
                          starts_at=AT, ends_at=AT + timedelta(days=30), planned_gpu_hours_per_month=1000,
                          occurred_at=AT + timedelta(minutes=2)),
        TelemetryStale(application_id=application_id, allocation_id=allocation_id, csps=["gov"], reason="silent",
                       last_sample_at=None, detected_at=AT + timedelta(hours=2), occurred_at=AT + timedelta(hours=2)),
        ResourceReclaimed(application_id=application_id, allocation_id=allocation_id, gpus=gpus,
                          reason="low_utilization", reclaimed_at=AT + timedelta(days=9),
                          occurred_at=AT + timedelta(days=9)),
    ]


async def read(api: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await api.get(path, headers=OPERATOR, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_application_s_events_from_every_topic_tell_its_story_and_move_the_funnel(stack: Stack) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    async with stack.api("dashboard", clock=NOW) as api, stack.worker("dashboard"):
        await publish(stack, *journey(first), *journey(second)[:3])

        async def told() -> Any:
            story = await api.get(f"/applications/{first}/story", headers=OPERATOR)
            return story.json() if story.status_code == 200 and len(story.json()["events"]) == 5 else None
        story = await eventually(told, what="the application's five events")
        await eventually(lambda: _stage_of(api, second, "active"), what="the second to be active")
        funnel = await read(api, "/funnel", program="P3")
        stale = await read(api, "/events", type="telemetry.", csp="gov")
        page = await read(api, "/events", application_id=str(first), limit=2)
    assert story["stage"] == "reclaimed"
    assert [e["type"] for e in story["events"]] == [
        "intake.application_submitted.v1", "evaluation.application_scored.v1", "allocation.resource_allocated.v1",
        "telemetry.telemetry_stale.v1", "allocation.resource_reclaimed.v1"]
    [row] = funnel
    counts = {s["stage"]: (s["applications"], s["gpus"]) for s in row["stages"]}
    assert counts["reclaimed"] == (1, 4) and counts["active"] == (1, 4) and counts["submitted"] == (0, 0)
    # the second's story stops at its allocation: only the first's telemetry alert is there
    assert [(e["application_id"], e["csps"]) for e in stale["items"]] == [(str(first), ["gov"])]
    # newest read first, two to a page, then the rest from where it stopped
    assert [e["seq"] for e in page["items"]] == sorted((e["seq"] for e in story["events"]), reverse=True)[:2]
    assert page["next_before"] == page["items"][-1]["seq"]


async def test_an_invoice_naming_two_applications_is_in_both_stories_and_a_price_is_found_under_its_csp(
        stack: Stack) -> None:
    first, second, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    invoice = InvoiceIssued(document_id=uuid.uuid4(), number="INV-2026-000001", partner_id=uuid.uuid4(),
                            payer_kind="applicant", payer_name="Acme AI", month=date(2026, 12, 1), total_krw=9_000,
                            application_ids=[first, second], issued_at=AT, occurred_at=AT + timedelta(days=40))
    price = MarketPriceSet(csp="csp-x", gpu_model="H100", effective_from=date(2026, 12, 1), krw_per_gpu_hour=5200)
    async with stack.api("dashboard", clock=NOW) as api, stack.worker("dashboard"):
        await publish(stack, *journey(first)[:3], *journey(second)[:3], *journey(other)[:3], invoice, price)

        async def told(application_id: uuid.UUID) -> Any:
            story = await api.get(f"/applications/{application_id}/story", headers=OPERATOR)
            return story.json()["events"] if story.status_code == 200 and len(story.json()["events"]) == 4 else None
        # the worker joins its group on eight topics first: on a loaded machine that alone has taken 30 s
        stories = [await eventually(lambda a=a: told(a), timeout=90, what=f"the story of {a}") for a in (first, second)]
        # its three events come on three topics, each read at its own pace: its story is complete once it has three
        async def other_told() -> Any:
            story = await api.get(f"/applications/{other}/story", headers=OPERATOR)
            return story.json()["events"] if story.status_code == 200 and len(story.json()["events"]) >= 3 else None
        others = await eventually(other_told, what=f"the story of {other}")
        async def priced_page() -> Any:
            page = await read(api, "/events", csp="csp-x")
            return page if page["items"] else None
        priced = await eventually(priced_page, what="the price under its CSP")
    for story in stories:
        assert story[-1]["type"] == "billing.invoice_issued.v2"
    assert [e["type"] for e in others] == ["intake.application_submitted.v1", "evaluation.application_scored.v1",
                                           "allocation.resource_allocated.v1"]
    assert [e["type"] for e in priced["items"]] == ["billing.market_price_set.v1"]


async def _stage_of(api: httpx.AsyncClient, application_id: uuid.UUID, stage: str) -> bool:
    response = await api.get(f"/applications/{application_id}/story", headers=OPERATOR)
    return response.status_code == 200 and response.json()["stage"] == stage


async def test_an_event_delivered_twice_or_late_changes_nothing_more(stack: Stack) -> None:
    application_id = uuid.uuid4()
    events = journey(application_id)
    async with stack.api("dashboard", clock=NOW) as api, stack.worker("dashboard"):
        # the reclaim first, the submission last, and everything twice
        await publish(stack, *reversed(events), *events)
        await eventually(lambda: _stage_of(api, application_id, "reclaimed"), what="the story")
        await asyncio.sleep(1.0)
        story = await read(api, f"/applications/{application_id}/story")
    assert len(story["events"]) == 5
    assert story["stage"] == "reclaimed"


async def test_events_read_together_are_kept_once_each_and_a_record_among_them_that_fails_is_parked_alone(
        stack: Stack) -> None:
    # written before the worker starts, so that it reads them in batches: the story twice over, with a record of
    # the same key that no contract reads in the middle (one transaction for the batch fails; one by one, it alone
    # is parked)
    application_id = uuid.uuid4()
    events = journey(application_id)
    await publish(stack, *events[:2])
    await produce_raw(stack.infra.kafka_bootstrap, stack.topic(topics.APPLICATIONS), b'{"application_id": "no"}',
                      key=str(application_id).encode(), headers=[
                          ("ce_specversion", b"1.0"), ("ce_id", str(uuid.uuid4()).encode()),
                          ("ce_type", b"intake.application_submitted.v1"), ("ce_time", AT.isoformat().encode()),
                          ("ce_source", b"/gpu-platform/test")])
    await publish(stack, *events, *events)
    async with stack.api("dashboard", clock=NOW) as api, stack.worker("dashboard") as worker:
        await eventually(lambda: _stage_of(api, application_id, "reclaimed"), what="the story")
        await eventually(lambda: _parked(worker), what="the record parked")
        await asyncio.sleep(1.0)
        story = await read(api, f"/applications/{application_id}/story")
        funnel = await read(api, "/funnel", program="P3")
    assert [e["type"] for e in story["events"]] == [e.type for e in events]
    assert await stack.count("dashboard.inbox") == len(events)
    assert [(s["stage"], s["applications"]) for s in funnel[0]["stages"] if s["applications"]] == [("reclaimed", 1)]
    assert worker.consumer.dead_lettered == 1


async def _parked(worker: Any) -> bool:
    return bool(worker.consumer.dead_lettered)


async def test_the_live_stream_sends_each_new_event_once_and_resumes_after_the_last_seen(stack: Stack) -> None:
    """Over a real socket (uvicorn): an in-process ASGI client would wait for the endless body to end."""
    application_id = uuid.uuid4()
    events = journey(application_id)
    app = SERVICES["dashboard"].create_app(stack.settings("dashboard"), clock=NOW)
    async with served(app, free_port()) as url, stack.worker("dashboard"), httpx.AsyncClient(base_url=url) as api:
        await publish(stack, events[0])
        await eventually(lambda: _stage_of(api, application_id, "submitted"), what="the submission")
        seen: list[dict[str, Any]] = []
        ids: list[str] = []

        async def listen(headers: dict[str, str]) -> None:
            async with api.stream("GET", "/events/stream", headers=headers,
                                  params={"application_id": str(application_id)}) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                async for line in response.aiter_lines():
                    if line.startswith("id: "):
                        ids.append(line[4:])
                    elif line.startswith("data: "):
                        seen.append(json.loads(line[6:]))
                        if len(seen) in (2, 3):
                            return

        listening = asyncio.create_task(listen(OPERATOR))
        await asyncio.sleep(0.5)
        await publish(stack, events[1], events[2])
        await asyncio.wait_for(listening, timeout=30)
        # a browser that lost the connection resumes after the last id it saw
        await publish(stack, events[3])
        await asyncio.wait_for(listen({**OPERATOR, "Last-Event-ID": ids[-1]}), timeout=30)
    # from the moment it opened: the submission, read before, is not sent; then each new one once, in the order
    # read (two topics: either may come first)
    assert sorted(e["type"] for e in seen[:2]) == ["allocation.resource_allocated.v1",
                                                    "evaluation.application_scored.v1"]
    assert seen[2]["type"] == "telemetry.telemetry_stale.v1"
    assert ids == [str(e["seq"]) for e in seen]


async def test_only_operators_see_anything(stack: Stack) -> None:
    async with stack.api("dashboard", clock=NOW) as api:
        answers = {role: (await api.get("/events", headers=bearer(role))).status_code
                   for role in ("operator", "partner", "reviewer", "csp")}
        anonymous = (await api.get("/funnel")).status_code
    assert answers == {"operator": 200, "partner": 403, "reviewer": 403, "csp": 403}
    assert anonymous == 401


async def test_a_position_beyond_the_event_numbers_is_refused_naming_it(stack: Stack) -> None:
    too_big = str(2**63)  # one past the largest bigint a seq can be
    async with stack.api("dashboard", clock=NOW) as api:
        refused = {
            "before": await api.get("/events", params={"before": too_big}, headers=OPERATOR),
            "after": await api.get("/events/stream", params={"after": too_big}, headers=OPERATOR),
            "last-event-id": await api.get("/events/stream", headers={**OPERATOR, "Last-Event-ID": too_big}),
            "last-event-id ": await api.get("/events/stream", headers={**OPERATOR, "Last-Event-ID": "12a"}),
        }
        fine = await api.get("/events", params={"before": str(2**63 - 1)}, headers=OPERATOR)
    for name, answer in refused.items():
        assert answer.status_code == 422, (name, answer.text)
        assert name.strip() in answer.text.lower()
    assert fine.status_code == 200


async def test_the_model_rebuilt_from_the_topics_equals_the_one_built_live(stack: Stack) -> None:
    applications = [uuid.uuid4() for _ in range(3)]
    async with stack.api("dashboard", clock=NOW) as api, stack.worker("dashboard"):
        for application_id in applications:
            await publish(stack, *journey(application_id))
        await eventually(lambda: _stage_of(api, applications[-1], "reclaimed"), what="the live model")
        live = await _model(stack), await _views(api)
    assert live[1]["balance"]["totals"]["gpus_allocated"] == 12  # the views were fed, not empty on both sides
    # rebuilt: the read model and its inbox emptied, and the consumer group's offsets forgotten, so that the
    # worker reads every topic from its start again
    await stack.fetch(f"TRUNCATE {', '.join(f'dashboard.{t}' for t in (*MODEL_TABLES, 'inbox'))}")
    await rewind(stack.infra.kafka_bootstrap, "dashboard", [stack.topic(t) for t in topics.ALL])
    async with stack.api("dashboard", clock=NOW) as api, stack.worker("dashboard"):
        await eventually(lambda: _stage_of(api, applications[-1], "reclaimed"), what="the rebuilt model")
        await asyncio.sleep(1.0)
        rebuilt = await _model(stack), await _views(api)
    assert rebuilt == live


# the tables built from the events (the dead letters come from the dead-letter topics, the inbox is the kit's)
MODEL_TABLES = ("event", "application", "application_profile", "allocation", "allocation_csp", "round_result",
                "ladder_step", "stale_alert")


async def _model(stack: Stack) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the model, in a stable order, without the order in which the events were read (`seq`)."""
    model = {}
    for table in MODEL_TABLES:
        rows = await stack.fetch(f"SELECT * FROM dashboard.{table}")
        model[table] = sorted((tuple(v for k, v in row.items() if k != "seq") for row in rows), key=repr)
    return model


async def _views(api: httpx.AsyncClient) -> dict[str, Any]:
    """What an operator sees of the model: every view's answer at the same instant."""
    answers = {}
    for name, path in (("funnel", "/funnel"), ("balance", "/views/balance"), ("demand", "/views/demand"),
                       ("occupancy", "/views/occupancy?start=2026-11-01&end=2027-03-31&step=week"),
                       ("ladder", "/views/ladder"), ("csps", "/views/csps")):
        response = await api.get(path, headers=OPERATOR)
        assert response.status_code == 200, response.text
        answers[name] = response.json()
    return answers
