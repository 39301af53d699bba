"""The dashboard's views on the real broker and database: balance (regions, institutions, sectors, company sizes,
the early-career reserve, youth and regional companies), demand and the waitlist, occupancy per model and CSP, the
reclaim ladder and the CSPs' telemetry alerts — built from events read in any order, each read once."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from contracts import (
    Applicant,
    ApplicationRejected,
    ApplicationScored,
    ApplicationSubmitted,
    ApplicationWaitlisted,
    ApplicationWithdrawn,
    Company,
    Event,
    GpuSlot,
    ReclaimWaived,
    ResourceAllocated,
    ResourceReclaimed,
    RoundSelected,
    TelemetryStale,
    UtilizationDropped,
    UtilizationRecovered,
    to_record,
)
from contracts.events.common import Program
from contracts.events.evaluation import ScoredFact
from dashboard.entrypoints.consumer import TRANSLATIONS
from support.auth import OPERATOR, bearer
from support.clock import ManualClock
from support.kafka import produce_raw
from support.stack import Stack, eventually

NOW = datetime(2026, 12, 10, 9, tzinfo=UTC)
CLOCK = ManualClock(NOW)
P1_COMPANY = {"business_registration_number": "1234567891", "representative_birth_date": date(1992, 5, 1)}


# --- the events --------------------------------------------------------------------------------------------------

def submitted(application_id: UUID, *, program: Program = "P3", call_id: UUID | None = None, gpus: int = 4,
              gpu_model: str = "H100", institution: str = "KAIST", region: str = "Daejeon",
              sector: str = "academia", company: Company | None = None, start: date = date(2026, 12, 1),
              end: date = date(2027, 2, 28), at: datetime = NOW - timedelta(days=9)) -> ApplicationSubmitted:
    return ApplicationSubmitted.model_validate({
        "application_id": application_id, "partner_id": uuid.uuid4(), "program": program, "call_id": call_id,
        "applicant": Applicant.model_validate({"name": "Dr. Kim", "sector": sector, "institution": institution,
                                               "region": region}),
        "gpus_requested": gpus, "gpu_model": gpu_model, "period_start": start, "period_end": end,
        "planned_gpu_hours_per_month": 1000, "purpose": "fine-tuning a Korean LLM", "company": company,
        "occurred_at": at})


def company(size: str, region: str) -> Company:
    return Company.model_validate({**P1_COMPANY, "size": size, "head_office_region": region})


def scored(s: ApplicationSubmitted, *, track: str = "general", facts: Sequence[ScoredFact] = ()) -> ApplicationScored:
    region = s.company.head_office_region if s.company else s.applicant.region
    return ApplicationScored.model_validate({
        "application_id": s.application_id, "program": s.program, "call_id": s.call_id, "score": 70.0,
        "policy_version": "2026.1", "track": track, "institution": s.applicant.institution,
        "gpus_requested": s.gpus_requested, "gpu_model": s.gpu_model, "period_start": s.period_start,
        "period_end": s.period_end, "planned_gpu_hours_per_month": 1000, "region": region, "facts": list(facts),
        "occurred_at": s.occurred_at + timedelta(minutes=1)})


def allocated(application_id: UUID, csps: dict[str, int], *, program: Program = "P3", gpu_model: str = "H100",
              starts_at: datetime = NOW - timedelta(days=9), ends_at: datetime = NOW + timedelta(days=20),
              allocation_id: UUID | None = None) -> ResourceAllocated:
    slots = [GpuSlot(server_id=uuid.uuid4(), server_name=f"{csp}-01", csp=csp, gpu_index=i)
             for csp, n in csps.items() for i in range(n)]
    return ResourceAllocated(application_id=application_id, allocation_id=allocation_id or uuid.uuid4(),
                             program=program, gpu_model=gpu_model, gpus=len(slots), slots=slots,
                             starts_at=starts_at, ends_at=ends_at, planned_gpu_hours_per_month=1000,
                             occurred_at=starts_at)


def waitlisted(application_id: UUID, at: datetime, program: Program = "P3") -> ApplicationWaitlisted:
    return ApplicationWaitlisted(application_id=application_id, program=program, reason="no capacity",
                                 occurred_at=at)


def dropped(a: ResourceAllocated, at: datetime, *, level: str = "warning", **numbers: Any) -> UtilizationDropped:
    return UtilizationDropped.model_validate({
        "application_id": a.application_id, "allocation_id": a.allocation_id, "level": level,
        "utilization_pct": 12.0, "threshold_pct": 30.0, "window_start": at - timedelta(days=7), "window_end": at,
        "occurred_at": at, **numbers})


def stale(a: ResourceAllocated, at: datetime, csps: list[str], **fields: Any) -> TelemetryStale:
    return TelemetryStale.model_validate({
        "application_id": a.application_id, "allocation_id": a.allocation_id, "csps": csps, "reason": "silent",
        "last_sample_at": at - timedelta(hours=3), "detected_at": at, "occurred_at": at, **fields})


def reclaimed(a: ResourceAllocated, at: datetime) -> ResourceReclaimed:
    return ResourceReclaimed(application_id=a.application_id, allocation_id=a.allocation_id, gpus=a.gpus,
                             reason="low_utilization", reclaimed_at=at, occurred_at=at)


async def read_model(stack: Stack, *events: Event) -> None:
    """Each event through the dashboard's own translation and bus, in the order given (as its consumer would)."""
    await stack.handle("dashboard", *(TRANSLATIONS[type(e)](e) for e in events), clock=CLOCK)


async def view(api: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await api.get(f"/views/{path}", headers=OPERATOR, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def refused(api: httpx.AsyncClient, path: str, **params: Any) -> list[str]:
    response = await api.get(f"/views/{path}", headers=OPERATOR, params=params)
    assert response.status_code == 422, response.text
    return [e["field"] for e in response.json()["errors"]]


def by_key(shares: list[dict[str, Any]]) -> dict[str, tuple[int, int, int]]:
    return {s["key"]: (s["applications"], s["gpus_requested"], s["gpus_allocated"]) for s in shares}


# --- the tests ---------------------------------------------------------------------------------------------------

async def test_a_p2_round_read_from_every_topic_in_any_order_and_twice_gives_each_view(stack: Stack) -> None:
    call = uuid.uuid4()
    early = submitted(uuid.uuid4(), program="P2", call_id=call, gpus=16, institution="KAIST", region="Busan")
    general = submitted(uuid.uuid4(), program="P2", call_id=call, gpus=8, institution="SNU", region="Seoul")
    waiting = submitted(uuid.uuid4(), program="P2", call_id=call, gpus=8, institution="SNU", region="Seoul")
    early_grant = allocated(early.application_id, {"alpha": 8, "beta": 8}, program="P2")
    general_grant = allocated(general.application_id, {"alpha": 8}, program="P2")
    reserve, used = 8, 8
    events: list[Event] = [
        early, general, waiting,
        scored(early, track="early_career", facts=["early_career", "non_capital_region"]), scored(general),
        scored(waiting), early_grant, general_grant, waitlisted(waiting.application_id, NOW - timedelta(days=3), "P2"),
        RoundSelected(call_id=call, program="P2", selected=2, waitlisted=1, gpus_awarded=24, reserve_gpus=reserve,
                      reserve_gpus_used=used, method="exact", objective=1680.0),
        dropped(early_grant, NOW - timedelta(days=1)),
        stale(early_grant, NOW - timedelta(hours=2), ["alpha", "beta"])]
    async with stack.api("dashboard", clock=CLOCK) as api, stack.worker("dashboard"):
        for event in [*reversed(events), *events]:
            record = to_record(event, source="/gpu-platform/test")
            await produce_raw(stack.infra.kafka_bootstrap, stack.topic(event.topic), record.value, key=record.key,
                              headers=record.headers)

        async def all_read() -> tuple[Any, ...] | None:
            found = (await view(api, "balance", program="P2", call_id=str(call)), await view(api, "ladder"),
                     await view(api, "csps"), await view(api, "demand", program="P2"))
            balance, ladder, csps, demand = found
            reserve_read = balance["early_career_reserve"] and balance["early_career_reserve"][0][
                "early_career_gpus"] is not None
            done = (balance["totals"]["gpus_allocated"] == 24 and reserve_read and ladder["items"]
                    and len(csps["items"]) == 2 and demand["waitlist"]["total"]["applications"] == 1)
            return found if done else None
        await eventually(all_read, what="every event in every view")
        await asyncio.sleep(1.0)  # the second copy of each event, read after
        balance, ladder, csps, demand = await all_read() or ()
    assert balance["totals"] == {"applications": 3, "gpus_requested": 16 + 8 + 8, "gpus_allocated": 16 + 8}
    assert by_key(balance["by_region"]) == {"non_capital": (1, 16, 16), "capital": (2, 16, 8)}
    region = {s["key"]: s for s in balance["by_region"]}
    assert region["non_capital"]["share_gpus_allocated"] == round(16 / 24, 4)
    assert region["capital"]["share_applications"] == round(2 / 3, 4)
    assert by_key(balance["by_institution"]) == {"KAIST": (1, 16, 16), "SNU": (2, 16, 8)}
    assert by_key(balance["by_company_size"]) == {"none": (3, 32, 24)}
    [round_reserve] = balance["early_career_reserve"]
    assert (round_reserve["reserve_gpus"], round_reserve["reserve_gpus_used"], round_reserve["spilled_over"]) == (
        reserve, used, reserve - used)
    assert (round_reserve["early_career_gpus"], round_reserve["won_in_general"]) == (16, 16 - used)
    facts = {f["fact"]: f for f in balance["facts"]}
    assert set(facts) == {"early_career", "non_capital_region"}  # P2's only, for a P2 filter
    assert (facts["early_career"]["applications"], facts["early_career"]["share_gpus_allocated"]) == (
        1, round(16 / 24, 4))
    [warned] = ladder["items"]
    assert (warned["allocation_id"], warned["warnings"], warned["csps"]) == (
        str(early_grant.allocation_id), 1, ["alpha", "beta"])
    assert {c["csp"]: c["allocations_affected"] for c in csps["items"]} == {"alpha": 1, "beta": 1}
    assert (demand["waitlist"]["total"]["gpus"], demand["waitlist"]["total"]["oldest_days"]) == (8, 3.0)


async def test_demand_is_gpu_months_per_model_and_month_and_the_waitlist_ages_as_of_now(stack: Stack) -> None:
    x, y, q, gone, past = (uuid.uuid4() for _ in range(5))
    await read_model(
        stack,
        submitted(x, gpus=4, start=date(2026, 12, 1), end=date(2027, 1, 31)),
        submitted(y, program="P1", call_id=uuid.uuid4(), gpus=2, gpu_model="B200", company=company("small", "Busan"),
                  sector="industry", start=date(2027, 1, 16), end=date(2027, 2, 14)),
        submitted(q, gpus=2, start=date(2027, 2, 1), end=date(2027, 2, 28)),
        submitted(gone, gpus=8, start=date(2026, 12, 1), end=date(2026, 12, 31)),
        ApplicationWithdrawn(application_id=gone, reason="no longer needed"),
        submitted(past, gpus=1, start=date(2026, 6, 1), end=date(2026, 11, 30)),
        waitlisted(x, NOW - timedelta(days=4)), waitlisted(q, NOW - timedelta(days=2)),
        waitlisted(y, NOW - timedelta(days=1), "P1"))
    async with stack.api("dashboard", clock=CLOCK) as api:
        every = await view(api, "demand", months=3)
        p1 = await view(api, "demand", program="P1", months=3)
        bad = [await refused(api, "demand", months=0), await refused(api, "demand", months=37),
               await refused(api, "demand", program="P4")]
    assert every["months"] == ["2026-12", "2027-01", "2027-02"]
    series = {s["gpu_model"]: s["gpu_months"] for s in every["series"]}
    assert series == {"B200": [0.0, round(2 * 16 / 31, 2), round(2 * 14 / 28, 2)], "H100": [4.0, 4.0, 2.0]}
    assert every["totals"] == [round(sum(v[i] for v in series.values()), 2) for i in range(3)]
    total = every["waitlist"]["total"]
    assert (total["applications"], total["gpus"], total["oldest_days"], total["median_days"]) == (3, 8, 4.0, 2.0)
    assert total["oldest_since"] == (NOW - timedelta(days=4)).isoformat().replace("+00:00", "Z")
    assert [(p["program"], p["applications"], p["gpus"], p["median_days"]) for p in every["waitlist"]["programs"]] == [
        ("P1", 1, 2, 1.0), ("P3", 2, 6, 3.0)]
    assert [s["gpu_model"] for s in p1["series"]] == ["B200"]
    assert p1["waitlist"]["total"]["applications"] == 1
    assert bad == [["query.months"], ["query.months"], ["query.program"]]


async def test_occupancy_counts_gpus_per_model_and_csp_per_bucket_until_a_reclaim(stack: Stack) -> None:
    monday = datetime(2026, 11, 30, tzinfo=UTC)
    cut = allocated(uuid.uuid4(), {"alpha": 3, "beta": 1}, starts_at=monday, ends_at=monday + timedelta(days=14))
    p1 = allocated(uuid.uuid4(), {"alpha": 8}, program="P1", gpu_model="B200", starts_at=monday + timedelta(days=7),
                   ends_at=monday + timedelta(days=38))
    reclaim_at = monday + timedelta(days=10)
    # the reclaim read before its grant
    await read_model(stack, reclaimed(cut, reclaim_at), cut, p1)
    async with stack.api("dashboard", clock=CLOCK) as api:
        weeks = await view(api, "occupancy", start="2026-12-01", end="2026-12-21", step="week")
        only_p1 = await view(api, "occupancy", start="2026-12-01", end="2026-12-21", step="week", program="P1")
        december = await view(api, "occupancy", start="2026-12-01", end="2027-01-01", step="month")
        bad = [await refused(api, "occupancy", start="2026-12-01", end="2026-12-01"),
               await refused(api, "occupancy", start="2026-12-01", end="2029-12-01"),
               await refused(api, "occupancy", start="2026-12-01", end="2026-12-21", step="day"),
               await refused(api, "occupancy", end="2026-12-21")]
    assert weeks["buckets"] == ["2026-11-30", "2026-12-07", "2026-12-14"]
    days_held_in_second_week = (reclaim_at - (monday + timedelta(days=7))).days
    assert {(s["gpu_model"], s["csp"]): s["gpus"] for s in weeks["series"]} == {
        ("B200", "alpha"): [0.0, 8.0, 8.0],
        ("H100", "alpha"): [3.0, round(3 * days_held_in_second_week / 7, 3), 0.0],
        ("H100", "beta"): [1.0, round(days_held_in_second_week / 7, 3), 0.0]}
    assert weeks["totals"] == [4.0, round(8 + 4 * days_held_in_second_week / 7, 3), 8.0]
    assert [(s["gpu_model"], s["gpus"]) for s in only_p1["series"]] == [("B200", [0.0, 8.0, 8.0])]
    assert december["buckets"] == ["2026-12-01"]
    assert {(s["gpu_model"], s["csp"]): s["gpus"] for s in december["series"]} == {
        ("B200", "alpha"): [round(8 * 25 / 31, 3)], ("H100", "alpha"): [round(3 * 9 / 31, 3)],
        ("H100", "beta"): [round(9 / 31, 3)]}
    assert bad == [["query.end"], ["query.end"], ["query.step"], ["query.start"]]


async def test_the_ladder_shows_who_stands_on_it_until_cleared_and_the_csps_their_latest_alert(
        stack: Stack) -> None:
    grants = {name: allocated(uuid.uuid4(), {"alpha": 2, "beta": 2})
              for name in ("warned", "recovered", "waived", "reclaimed", "called")}
    grants["ended"] = allocated(uuid.uuid4(), {"alpha": 1}, ends_at=NOW - timedelta(hours=1))
    days = [NOW - timedelta(days=n) for n in range(9)]
    twice = dropped(grants["warned"], days[3])
    latest = dropped(grants["warned"], days[1], rule="gpu_hours_below_plan", actual_gpu_hours=100.0,
                     planned_gpu_hours=1000.0, required_gpu_hours=500.0)
    g = grants
    await read_model(
        stack, *g.values(), twice, twice, latest,
        dropped(g["recovered"], days[3]),
        UtilizationRecovered(application_id=g["recovered"].application_id,
                             allocation_id=g["recovered"].allocation_id, utilization_pct=60.0, threshold_pct=30.0,
                             window_start=days[5], window_end=days[2], occurred_at=days[2]),
        ReclaimWaived(application_id=g["waived"].application_id, allocation_id=g["waived"].allocation_id,
                      waived_at=days[4]),  # read before the warning it waives
        dropped(g["waived"], days[5]), dropped(g["waived"], days[1]),
        dropped(g["reclaimed"], days[2]), dropped(g["reclaimed"], days[1], level="reclaim"),
        reclaimed(g["reclaimed"], days[1]),
        dropped(g["called"], days[8]), dropped(g["called"], days[1], level="reclaim"),
        dropped(g["ended"], days[2]),
        # alpha: the later alert read first; beta: one of a reclaimed allocation, one long ago
        stale(g["waived"], NOW - timedelta(hours=2), ["alpha"], reason="low_coverage", coverage=0.4),
        stale(g["warned"], NOW - timedelta(hours=10), ["alpha"]),
        stale(g["reclaimed"], NOW - timedelta(hours=5), ["beta"]),
        stale(g["recovered"], NOW - timedelta(hours=30), ["beta"]))
    async with stack.api("dashboard", clock=CLOCK) as api:
        ladder = await view(api, "ladder")
        csps = await view(api, "csps")
        two_days = await view(api, "csps", hours=48)
        bad = [await refused(api, "csps", hours=0), await refused(api, "ladder", limit=0)]
    items = {i["allocation_id"]: i for i in ladder["items"]}
    expected = [g["called"].allocation_id, g["warned"].allocation_id, g["waived"].allocation_id]
    assert list(items) == [str(a) for a in expected]  # the reclaims first, then the longest on the ladder
    warned = items[str(g["warned"].allocation_id)]
    assert (warned["level"], warned["warnings"], warned["since"][:10], warned["last_at"][:10]) == (
        "warning", 2, days[3].date().isoformat(), days[1].date().isoformat())
    assert (warned["rule"], warned["actual_gpu_hours"], warned["required_gpu_hours"], warned["gpus"]) == (
        "gpu_hours_below_plan", 100.0, 500.0, 4)
    waived = items[str(g["waived"].allocation_id)]
    assert (waived["warnings"], waived["since"][:10]) == (1, days[1].date().isoformat())
    called = items[str(g["called"].allocation_id)]
    assert (called["level"], called["warnings"]) == ("reclaim", 1)
    alerts = {c["csp"]: c for c in csps["items"]}
    assert [c["csp"] for c in csps["items"]] == ["alpha", "beta"]  # the latest alert first
    assert (alerts["alpha"]["allocation_id"], alerts["alpha"]["reason"], alerts["alpha"]["coverage"]) == (
        str(g["waived"].allocation_id), "low_coverage", 0.4)
    assert (alerts["alpha"]["allocations_affected"], alerts["beta"]["allocations_affected"]) == (2, 0)
    assert {c["csp"]: c["allocations_affected"] for c in two_days["items"]} == {"alpha": 2, "beta": 1}
    assert bad == [["query.hours"], ["query.limit"]]


async def test_youth_and_regional_companies_and_each_balance_of_a_p1_call(stack: Stack) -> None:
    call, other_call = uuid.uuid4(), uuid.uuid4()
    youth_regional = submitted(uuid.uuid4(), program="P1", call_id=call, gpus=8, institution="Acme AI",
                               sector="industry", company=company("startup", "Busan"))
    youth = submitted(uuid.uuid4(), program="P1", call_id=call, gpus=4, institution="Beta Labs", sector="industry",
                      company=company("small", "Seoul"))
    neither = submitted(uuid.uuid4(), program="P1", call_id=call, gpus=16, institution="Gamma", sector="industry",
                        company=company("small", "Incheon"))
    rejected = submitted(uuid.uuid4(), program="P1", call_id=call, gpus=2, institution="Delta", sector="industry",
                         company=company("small", "Daegu"))
    elsewhere = submitted(uuid.uuid4(), program="P1", call_id=other_call, gpus=16, institution="Acme AI",
                          sector="industry", company=company("startup", "Busan"))
    await read_model(
        stack,
        # scores and grants read before some submissions
        scored(youth_regional, facts=["youth_company", "regional_company"]), youth_regional,
        allocated(youth_regional.application_id, {"alpha": 8}, program="P1"),
        youth, scored(youth, facts=["youth_company"]), allocated(youth.application_id, {"beta": 4}, program="P1"),
        scored(neither), neither, waitlisted(neither.application_id, NOW, "P1"),
        rejected, ApplicationRejected(application_id=rejected.application_id, program="P1",
                                      failed_rules=["p1_company_size: x"], policy_version="2026.1"),
        elsewhere, scored(elsewhere, facts=["youth_company", "regional_company"]),
        allocated(elsewhere.application_id, {"alpha": 16}, program="P1"),
        RoundSelected(call_id=call, program="P1", selected=2, waitlisted=1, gpus_awarded=12, reserve_gpus=0,
                      reserve_gpus_used=0, method="exact", objective=840.0))
    async with stack.api("dashboard", clock=CLOCK) as api:
        one_call = await view(api, "balance", call_id=str(call))
        program = await view(api, "balance", program="P1")
        bad = await refused(api, "balance", call_id="not-a-uuid")
    assert one_call["totals"] == {"applications": 4, "gpus_requested": 8 + 4 + 16 + 2, "gpus_allocated": 8 + 4}
    assert by_key(one_call["by_region"]) == {"non_capital": (2, 10, 8), "capital": (2, 20, 4)}
    assert by_key(one_call["by_company_size"]) == {"startup": (1, 8, 8), "small": (3, 22, 4)}
    assert by_key(one_call["by_sector"]) == {"industry": (4, 30, 12)}
    assert one_call["early_career_reserve"] == []  # a P1 round has no reserve
    facts = {f["fact"]: f for f in one_call["facts"]}
    assert {k: (f["scored"], f["applications"], f["allocated"], f["gpus_allocated"]) for k, f in facts.items()
            if f["program"] == "P1"} == {"youth_company": (3, 2, 2, 12), "regional_company": (3, 1, 1, 8)}
    assert (facts["youth_company"]["share_applications"], facts["regional_company"]["share_gpus_allocated"]) == (
        round(2 / 3, 4), round(8 / 12, 4))
    assert program["totals"]["gpus_allocated"] == 8 + 4 + 16
    assert program["by_institution"][0] == {
        "key": "Acme AI", "applications": 2, "gpus_requested": 24, "gpus_allocated": 24,
        "share_applications": round(2 / 5, 4), "share_gpus_requested": round(24 / 46, 4),
        "share_gpus_allocated": round(24 / 28, 4)}
    assert bad == ["query.call_id"]


async def test_the_ladder_is_judged_from_the_steps_in_any_order_clearings_included_at_their_instant(
        stack: Stack) -> None:
    at = NOW - timedelta(days=10)
    g = {name: allocated(uuid.uuid4(), {"alpha": 1}, program="P3")
         for name in ("rearmed", "same_instant", "waived", "waived_first", "recovered_only", "called", "rewarned")}
    unread = allocated(uuid.uuid4(), {"beta": 2})  # its grant never read

    def recovered(a: ResourceAllocated, when: datetime) -> UtilizationRecovered:
        return UtilizationRecovered(application_id=a.application_id, allocation_id=a.allocation_id,
                                    utilization_pct=60.0, threshold_pct=30.0, window_start=when - timedelta(days=1),
                                    window_end=when, occurred_at=when)

    def waived(a: ResourceAllocated, when: datetime) -> ReclaimWaived:
        return ReclaimWaived(application_id=a.application_id, allocation_id=a.allocation_id, waived_at=when)

    def story(a: ResourceAllocated) -> list[Event]:  # a warning, cleared; two warnings since, the latest on GPU-hours
        return [dropped(a, at, rule="mean_below_plan"), recovered(a, at + timedelta(days=1)),
                dropped(a, at + timedelta(days=2), utilization_pct=10.0),
                dropped(a, at + timedelta(days=3), rule="gpu_hours_below_plan", utilization_pct=5.0)]

    events: list[Event] = [
        *story(g["rearmed"]),
        *story(g["called"]), dropped(g["called"], at + timedelta(days=9), level="reclaim"),
        dropped(g["same_instant"], at), recovered(g["same_instant"], at),
        dropped(g["waived"], at), waived(g["waived"], at + timedelta(hours=1)),
        waived(g["waived_first"], at + timedelta(hours=1)), dropped(g["waived_first"], at),
        recovered(g["recovered_only"], at),
        dropped(g["rewarned"], at), waived(g["rewarned"], at + timedelta(hours=1)),
        dropped(g["rewarned"], at + timedelta(days=1)),
        dropped(unread, at + timedelta(days=5))]
    # the steps read backwards: nothing relies on the order read
    await read_model(stack, *g.values(), *reversed(events))
    async with stack.api("dashboard", clock=CLOCK) as api:
        ladder = await view(api, "ladder")
        p3 = await view(api, "ladder", program="P3")
        first = await view(api, "ladder", limit=1)
    items = {i["allocation_id"]: i for i in ladder["items"]}
    expected = [g["called"], g["rewarned"], g["rearmed"], unread]  # the reclaim first, then the longest on it
    assert list(items) == [str(a.allocation_id) for a in expected]
    rearmed = items[str(g["rearmed"].allocation_id)]
    assert (rearmed["level"], rearmed["since"][:10], rearmed["warnings"]) == (
        "warning", (at + timedelta(days=2)).date().isoformat(), 2)
    assert (rearmed["rule"], rearmed["utilization_pct"]) == ("gpu_hours_below_plan", 5.0)
    called = items[str(g["called"].allocation_id)]
    assert (called["level"], called["warnings"], called["since"]) == ("reclaim", 2, rearmed["since"])
    rewarned = items[str(g["rewarned"].allocation_id)]
    assert (rewarned["since"][:10], rewarned["warnings"]) == ((at + timedelta(days=1)).date().isoformat(), 1)
    shown = items[str(unread.allocation_id)]
    assert (shown["program"], shown["gpu_model"], shown["gpus"], shown["csps"], shown["ends_at"]) == (
        None, None, None, [], None)
    assert [i["allocation_id"] for i in p3["items"]] == [str(a.allocation_id) for a in expected[:3]]
    assert [i["allocation_id"] for i in first["items"]] == [str(g["called"].allocation_id)]


async def test_an_application_known_by_its_grant_alone_is_unknown_and_the_institutions_past_ten_are_others(
        stack: Stack) -> None:
    named = [submitted(uuid.uuid4(), gpus=i, institution=f"Lab {i:02d}") for i in range(1, 13)]
    grant_only = allocated(uuid.uuid4(), {"alpha": 4})
    score_only = scored(submitted(uuid.uuid4(), gpus=2, institution="Lab 12", region="Seoul"))
    call = uuid.uuid4()
    early = submitted(uuid.uuid4(), program="P2", call_id=call, gpus=16)
    await read_model(
        stack, *named, *(allocated(s.application_id, {"beta": s.gpus_requested}) for s in named[:11]),
        grant_only, score_only, early, scored(early, track="early_career", facts=["early_career"]),
        allocated(early.application_id, {"alpha": 16}, program="P2"),
        # two selected, one grant read: the early-career figures wait for the other
        RoundSelected(call_id=call, program="P2", selected=2, waitlisted=0, gpus_awarded=24, reserve_gpus=8,
                      reserve_gpus_used=8, method="exact", objective=1.0))
    async with stack.api("dashboard", clock=CLOCK) as api:
        p3 = await view(api, "balance", program="P3")
        p2 = await view(api, "balance", program="P2")
    gpus = sum(range(1, 12))
    assert p3["totals"] == {"applications": 14, "gpus_requested": sum(range(1, 13)) + 2, "gpus_allocated": gpus + 4}
    institutions = by_key(p3["by_institution"])
    # by GPUs allocated, then requested: Lab 04 (4, 4) before the grant alone (4, 0), Lab 12 (0 allocated) last
    assert list(institutions) == [f"Lab {i:02d}" for i in range(11, 3, -1)] + ["unknown", "Lab 03", "others"]
    assert institutions["others"] == (1 + 1 + 2, 2 + 1 + 12 + 2, 2 + 1)  # Lab 02, Lab 01, Lab 12 (two applications)
    assert by_key(p3["by_region"]) == {"non_capital": (12, sum(range(1, 13)), gpus), "unknown": (1, 0, 4),
                                       "capital": (1, 2, 0)}
    assert by_key(p3["by_company_size"]) == {"none": (12, sum(range(1, 13)), gpus), "unknown": (2, 2, 4)}
    assert by_key(p3["by_sector"]) == {"academia": (12, sum(range(1, 13)), gpus), "unknown": (2, 2, 4)}
    [reserve] = p2["early_career_reserve"]
    assert (reserve["spilled_over"], reserve["early_career_gpus"], reserve["won_in_general"]) == (0, None, None)
    assert {f["fact"]: f["applications"] for f in p2["facts"]} == {"early_career": 1, "non_capital_region": 0}


@pytest.mark.parametrize("path", ["balance", "demand", "occupancy?start=2026-12-01&end=2026-12-21", "ladder",
                                  "csps"])
async def test_only_operators_see_the_views(stack: Stack, path: str) -> None:
    async with stack.api("dashboard", clock=CLOCK) as api:
        partner = (await api.get(f"/views/{path}", headers=bearer("partner"))).status_code
        anonymous = (await api.get(f"/views/{path}")).status_code
        operator = (await api.get(f"/views/{path}", headers=OPERATOR)).status_code
    assert (operator, partner, anonymous) == (200, 403, 401)
