"""The ingest path's gate on its own: a bounded number of requests in flight, for the process and per CSP, refused
at once past either bound with Retry-After, every place given back however its request ends."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
from pydantic import ValidationError

from telemetry.config import NDJSON_BYTES_CEILING, IngestSettings, Settings
from telemetry.entrypoints.admission import AdmissionGate, IngestRefused, OverCspShare, Saturated


def gate(*, total: int = 3, per_csp: int = 2, retry_after_s: int = 7) -> AdmissionGate:
    return AdmissionGate(max_in_flight=total, max_in_flight_per_csp=per_csp, retry_after_s=retry_after_s)


@asynccontextmanager
async def holding(g: AdmissionGate, *csps: str) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        for csp in csps:
            await stack.enter_async_context(g.admit(csp))
        yield


async def refusal(g: AdmissionGate, csp: str) -> IngestRefused:
    with pytest.raises(IngestRefused) as refused:
        async with g.admit(csp):
            pytest.fail(f"{csp} admitted past the bound")
    return refused.value


async def test_a_csp_over_its_share_is_refused_429_while_others_still_get_in() -> None:
    g = gate(total=3, per_csp=2)
    async with holding(g, "gov", "gov"):
        refused = await refusal(g, "gov")
        async with g.admit("aws"):
            assert (g.in_flight, g.in_flight_of("gov"), g.in_flight_of("aws")) == (3, 2, 1)
    assert isinstance(refused, OverCspShare)
    assert refused.status_code == 429
    assert refused.headers == {"Retry-After": "7"}
    assert "gov already has 2 sample requests in flight" in refused.detail
    assert g.rejections.over_csp_share == {"gov": 1}


async def test_a_full_process_refuses_503_with_retry_after_and_keeps_no_queue() -> None:
    g = gate(total=2, per_csp=2, retry_after_s=5)
    async with holding(g, "gov", "aws"):
        refusals = [await refusal(g, csp) for csp in ("azure", "azure", "gov")]
        assert g.in_flight == 2
    assert all(isinstance(r, Saturated) for r in refusals)
    assert refusals[0].status_code == 503
    assert refusals[0].headers == {"Retry-After": "5"}
    assert "working on 2 sample requests" in refusals[0].detail
    assert (g.rejections.saturated, g.rejections.total) == (3, 3)


async def test_the_csp_s_share_is_checked_before_the_process_bound() -> None:
    g = gate(total=2, per_csp=2)
    async with holding(g, "gov", "gov"):
        assert isinstance(await refusal(g, "gov"), OverCspShare)


async def test_a_place_is_given_back_when_its_request_fails() -> None:
    g = gate(total=1, per_csp=1)
    with pytest.raises(RuntimeError):
        async with g.admit("gov"):
            raise RuntimeError("the database went away")
    async with g.admit("gov"):
        assert g.in_flight == 1
    assert (g.in_flight, g.in_flight_of("gov")) == (0, 0)


async def test_a_place_is_given_back_when_its_request_is_cancelled() -> None:
    g = gate(total=1, per_csp=1)
    entered = asyncio.Event()

    async def request() -> None:
        async with g.admit("gov"):
            entered.set()
            await asyncio.Event().wait()  # a body that never comes

    task = asyncio.create_task(request())
    await entered.wait()
    assert g.in_flight == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (g.in_flight, g.in_flight_of("gov")) == (0, 0)


async def test_a_refused_request_holds_nothing() -> None:
    g = gate(total=1, per_csp=1)
    async with g.admit("gov"):
        for _ in range(100):
            assert isinstance(await refusal(g, "gov"), OverCspShare)
            assert isinstance(await refusal(g, "aws"), Saturated)
        assert (g.in_flight, g.in_flight_of("gov"), g.in_flight_of("aws")) == (1, 1, 0)
    async with holding(g, "aws"):
        assert g.in_flight_of("aws") == 1


async def test_many_concurrent_requests_never_exceed_the_bounds_and_all_places_come_back() -> None:
    g = gate(total=4, per_csp=2)
    peak = {"all": 0, "gov": 0}
    outcomes: list[str] = []

    async def request(csp: str) -> None:
        try:
            async with g.admit(csp):
                peak["all"] = max(peak["all"], g.in_flight)
                peak["gov"] = max(peak["gov"], g.in_flight_of("gov"))
                await asyncio.sleep(0.001)
            outcomes.append("admitted")
        except (OverCspShare, Saturated) as exc:
            outcomes.append(str(exc.status_code))

    await asyncio.gather(*(request(csp) for csp in ["gov", "aws", "azure", "ovh"] * 50))
    assert peak["all"] <= 4 and peak["gov"] <= 2
    assert outcomes.count("admitted") >= 4
    assert len(outcomes) == 200 and g.rejections.total == 200 - outcomes.count("admitted")
    assert (g.in_flight, g.in_flight_of("gov")) == (0, 0)


def test_the_settings_are_bounded_and_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert IngestSettings() == IngestSettings(max_in_flight=8, max_in_flight_per_csp=4, retry_after_s=5,
                                              ndjson_max_bytes=NDJSON_BYTES_CEILING)
    monkeypatch.setenv("TELEMETRY_INGEST__MAX_IN_FLIGHT", "16")
    monkeypatch.setenv("TELEMETRY_INGEST__MAX_IN_FLIGHT_PER_CSP", "3")
    monkeypatch.setenv("TELEMETRY_INGEST__RETRY_AFTER_S", "2")
    monkeypatch.setenv("TELEMETRY_INGEST__NDJSON_MAX_BYTES", "65536")
    g = AdmissionGate.of(Settings().ingest)
    assert (g.max_in_flight, g.max_in_flight_per_csp, g.retry_after_s) == (16, 3, 2)
    assert Settings().ingest.ndjson_max_bytes == 65536


@pytest.mark.parametrize("setting", [{"max_in_flight": 0}, {"max_in_flight_per_csp": 0}, {"retry_after_s": 0},
                                     {"ndjson_max_bytes": NDJSON_BYTES_CEILING + 1}, {"ndjson_max_bytes": 10}],
                         ids=["no-place", "no-place-per-csp", "no-wait", "over-the-ceiling", "under-a-kib"])
def test_a_setting_out_of_bounds_is_refused(setting: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        IngestSettings(**setting)
