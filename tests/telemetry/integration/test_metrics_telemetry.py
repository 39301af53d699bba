"""Telemetry's ingest metrics on the real app and database: every sample a door did not store counted by door and
reason as its answer counted it, and every request the admission gate turned away counted by why
(docs/observability.md)."""
from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import cramjam

from support.auth import bearer, csp_id
from support.clock import ManualClock
from support.metrics import Samples, scrape, series, value
from support.stack import Stack
from telemetry.config import IngestSettings
from telemetry.domain.commands import TrackAllocation
from telemetry.domain.model import Slot
from telemetry.entrypoints import prompb
from telemetry.entrypoints.metrics import REFUSED

AT = datetime(2026, 12, 1, 10, tzinfo=UTC)
NOW = ManualClock(AT + timedelta(hours=1))  # lateness 2 h: before AT - 1 h is late; skew 5': after NOW + 5' is ahead
GOV, BETA, NOBODYS = "p3-gov-01", "beta-01", "p3-gov-99"  # tracked as gov's, tracked as beta's, tracked by none
REFUSED_TOTAL = "platform_telemetry_samples_refused_total"
SHED_TOTAL = "platform_telemetry_requests_shed_total"


def tracked(server: str, csp: str) -> TrackAllocation:
    return TrackAllocation(allocation_id=uuid.uuid4(), application_id=uuid.uuid4(), program="P3", gpus=1,
                           starts_at=AT - timedelta(hours=10), ends_at=AT + timedelta(days=30),
                           planned_gpu_hours_per_month=730,
                           slots=(Slot(server, 0, csp, csp_id=csp_id(csp)),))


def lines(server: str, *ats: datetime) -> bytes:
    return b"".join(json.dumps({"server": server, "gpu_index": 0, "utilization_pct": 40.0,
                                "ts": at.isoformat().replace("+00:00", "Z")}).encode() + b"\n" for at in ats)


def write_request(*series_: tuple[str, str, list[datetime]]) -> bytes:
    """(metric, Hostname, instants): one series each, as Prometheus sends them."""
    request = prompb.WriteRequest()
    for metric, host, ats in series_:
        ts = request.timeseries.add()
        for name, label in sorted({"__name__": metric, "Hostname": host, "gpu": "0"}.items()):
            ts.labels.add(name=name, value=label)
        for at in ats:
            ts.samples.add(value=50.0, timestamp=int(at.timestamp() * 1000))
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


NDJSON = {"Content-Type": "application/x-ndjson", **bearer("csp", csp_id("gov"))}
REMOTE_WRITE = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                "X-Prometheus-Remote-Write-Version": "0.1.0", **bearer("csp", csp_id("gov"))}


def refused(samples: Samples) -> dict[tuple[str, str], float]:
    return {(dict(labels)["via"], dict(labels)["reason"]): v for labels, v in series(samples, REFUSED_TOTAL).items()}


async def test_samples_not_stored_are_counted_by_door_and_reason_as_each_answer_counted_them(stack: Stack) -> None:
    await stack.handle("telemetry", tracked(GOV, "gov"), tracked(BETA, "beta"))
    minutes = [AT + timedelta(minutes=m) for m in range(3)]
    late, ahead = AT - timedelta(hours=2), NOW.now + timedelta(hours=1)
    util = "DCGM_FI_DEV_GPU_UTIL"
    write = write_request((util, GOV, minutes), (util, NOBODYS, [minutes[1]]), (util, BETA, minutes[:2]),
                          (util, "", [AT]), ("node_cpu_seconds_total", GOV, minutes), (util, GOV, [late, ahead]))
    async with stack.api("telemetry", clock=NOW) as api:
        before = await scrape(api)
        batch = lines(GOV, *minutes) + lines(NOBODYS, AT) + lines(GOV, late)
        batches = [await api.post("/samples", content=batch, headers=NDJSON) for _ in range(2)]  # again: duplicates
        from_the_future = await api.post("/samples", content=lines(GOV, AT, ahead, ahead), headers=NDJSON)
        on_betas = await api.post("/samples", content=lines(BETA, AT), headers=NDJSON)
        written = await api.post("/api/v1/write", content=write, headers=REMOTE_WRITE)
        after = await scrape(api)

    assert set(refused(before)) == {(via, reason) for via, reasons in REFUSED.items() for reason in reasons}
    assert not any(refused(before).values())
    assert [r.status_code for r in batches] == [202, 202]
    assert (from_the_future.status_code, on_betas.status_code, written.status_code) == (422, 403, 200)
    answered: Counter[tuple[str, str]] = Counter()
    for answer in batches:
        answered.update({("ndjson", reason): answer.json()[reason] for reason in ("duplicates", "refused_late")})
    answered["ndjson", "refused_future"] = len(from_the_future.json()["errors"])  # the lines it names
    answered["ndjson", "refused_other_csp"] = len(on_betas.json()["errors"])
    answered.update({("remote_write", reason): written.json()[reason] for reason in REFUSED["remote_write"]})
    assert refused(after) == answered
    # every reason of each door moved: the batches above are built to give each one (the three minutes on GOV
    # NDJSON stored are remote-write's duplicates)
    assert all(answered.values()), answered
    assert (answered["ndjson", "refused_future"], answered["remote_write", "duplicates"]) == (2, 3)

    accepted = [r.json()["accepted"] for r in batches] + [written.json()["accepted"]]
    assert value(after, "platform_telemetry_samples_accepted_total", via="ndjson") == sum(accepted[:2]) > 0
    assert value(after, "platform_telemetry_samples_accepted_total", via="remote_write") == accepted[2] > 0
    assert value(after, "platform_telemetry_samples_unheld_total", via="remote_write") == written.json()["unheld"] > 0
    nobodys = await stack.fetch("SELECT count(*) AS n FROM telemetry.sample JOIN telemetry.gpu USING (gpu_id) "
                                "WHERE server_name = $1", NOBODYS)
    # the NDJSON door's answer does not say it: the samples stored on a server no allocation names, less remote-write's
    assert value(after, "platform_telemetry_samples_unheld_total", via="ndjson") \
        == nobodys[0]["n"] - written.json()["unheld"] == 1


class Held:
    """A body sent in two parts, the second once released: its request holds its place at the gate until then."""

    def __init__(self, first: bytes, rest: bytes) -> None:
        self.first, self.rest = first, rest
        self.reading, self.release = asyncio.Event(), asyncio.Event()

    async def body(self) -> AsyncIterator[bytes]:
        self.reading.set()
        yield self.first
        await self.release.wait()
        yield self.rest


async def test_requests_the_gate_turns_away_are_counted_by_why(stack: Stack) -> None:
    def as_csp(csp: str) -> dict[str, str]:
        return {"Content-Type": "application/x-ndjson", **bearer("csp", csp_id(csp))}

    gov = Held(lines("p3-gov-01", AT), lines("p3-gov-01", AT + timedelta(minutes=1)))
    aws = Held(lines("p3-aws-01", AT), lines("p3-aws-01", AT + timedelta(minutes=1)))
    limits = IngestSettings(max_in_flight=2, max_in_flight_per_csp=1)
    async with stack.api("telemetry", clock=NOW, ingest=limits) as api:
        before = await scrape(api)
        held = [asyncio.create_task(api.post("/samples", content=gov.body(), headers=as_csp("gov")))]
        await gov.reading.wait()
        turned_away = [await api.post("/samples", content=lines("p3-gov-01", AT), headers=as_csp("gov")),
                       await api.post("/api/v1/write", content=write_request(("DCGM_FI_DEV_GPU_UTIL", "x", [AT])),
                                      headers=REMOTE_WRITE)]
        held.append(asyncio.create_task(api.post("/samples", content=aws.body(), headers=as_csp("aws"))))
        await aws.reading.wait()
        turned_away.append(await api.post("/samples", content=lines("p3-ovh-01", AT), headers=as_csp("ovh")))
        during = await scrape(api)
        gov.release.set()
        aws.release.set()
        answers = await asyncio.gather(*held)
        after = await scrape(api)

    assert series(before, SHED_TOTAL) == {frozenset({("reason", r)}): 0 for r in ("over_csp_share", "saturated")}
    statuses = Counter(r.status_code for r in turned_away)
    assert statuses == {429: 2, 503: 1}
    assert value(during, SHED_TOTAL, reason="over_csp_share") == statuses[429]
    assert value(during, SHED_TOTAL, reason="saturated") == statuses[503]
    assert [r.status_code for r in answers] == [202, 202]
    assert series(after, SHED_TOTAL) == series(during, SHED_TOTAL)  # the held ones were let in, not counted
    # turned away before their bodies were read: no sample of theirs counted anywhere
    assert value(after, "platform_telemetry_samples_accepted_total", via="ndjson") == 4
    assert value(after, "platform_telemetry_samples_accepted_total", via="remote_write") == 0
