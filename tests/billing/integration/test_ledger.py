"""Billing's ledger and documents on the real database, each event through billing's own translation and bus, every
amount computed by hand in the comments.

Times are in Korea (KST = UTC+9): a month's invoice covers the Korean calendar month.
"""
from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from billing.config import InvoicingSettings, PayerSettings
from contracts import (
    CorporateParticipant,
    Event,
    UsageRecorded,
)
from support import databases
from support.auth import OPERATOR, bearer
from support.billing import DEC_1, FEB_1, JAN_1, KST, MAR_1, allocated, consume, reclaimed, run_round, scored, submitted
from support.clock import ManualClock
from support.infra import Infra
from support.stack import Stack


def totals(documents: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    return {(d["kind"], d["payer_name"]): d["total_krw"] for d in documents}


async def test_a_youth_company_pays_half_the_p1_fee(stack: Stack) -> None:
    youth, other = submitted("P1"), submitted("P1")
    # 4 GPUs x 10 days x 24 h = 960 GPU-hours x 4,000 KRW (the default price) = 3,840,000 KRW of market value
    grants = [allocated(a, gpus=4, start=DEC_1, end=DEC_1 + timedelta(days=10)) for a in (youth, other)]
    await consume(stack, youth, scored(youth, youth=True), other, scored(other, youth=False), *grants)
    clock = ManualClock(DEC_1)
    async with stack.api("billing", clock=clock) as api:
        issued = await run_round(api, clock, JAN_1 + timedelta(hours=1))
        assert {d["partner_id"]: d["total_krw"] for d in issued} == {
            str(youth.partner_id): 576_000,   # 3,840,000 x 30% x 50%
            str(other.partner_id): 1_152_000,  # 3,840,000 x 30%
        }
        assert all(d["status"] == "issued" and d["month"] == "2026-12-01" for d in issued)
        assert sorted(d["number"] for d in issued) == ["INV-2027-000001", "INV-2027-000002"]
        line = issued[0]["lines"][0]
        assert (line["gpu_hours"], line["krw_per_gpu_hour"]) == ("960.000000", 4000)


async def test_each_company_size_pays_its_share_of_its_part_of_a_p2_project(stack: Stack) -> None:
    project = submitted("P2", participants=[
        CorporateParticipant(name="Big Corp", size="large", business_registration_number="1111111119",
                             project_share_bp=6000),
        CorporateParticipant(name="Small Co", size="small", business_registration_number="2222222227",
                             project_share_bp=4000)])
    middle = submitted("P2", participants=[CorporateParticipant(name="Mid Co", size="mid")])
    clock = ManualClock(DEC_1)
    async with stack.api("billing", clock=clock) as api:
        price = await api.put("/market-prices/csp-a/H100/2026-11-01", json={"krw_per_gpu_hour": 3000},
                              headers=OPERATOR)
        assert price.status_code == 200, price.text
        # a server of 8 GPUs for December: 8 x 31 days x 24 h = 5,952 GPU-hours x 3,000 = 17,856,000 KRW
        await consume(stack, project, middle, allocated(project, gpus=8, start=DEC_1, end=JAN_1),
                      allocated(middle, gpus=8, start=DEC_1, end=JAN_1))
        issued = await run_round(api, clock, JAN_1 + timedelta(hours=1))
        settlement = (await api.get("/settlements/2026-12", headers=OPERATOR)).json()
    assert totals(issued) == {
        ("invoice", "Big Corp"): 2_678_400,  # 17,856,000 x 25% x 60%
        ("invoice", "Small Co"): 535_680,    # 17,856,000 x 7.5% x 40%
        ("invoice", "Mid Co"): 2_678_400,    # 17,856,000 x 15% x 100% (the only participant)
    }
    row = settlement["rows"][0]
    assert (row["csp"], row["gpu_hours"]) == ("csp-a", "11904.000000")  # two servers' 5,952 GPU-hours
    assert row["market_value_krw"] == 35_712_000
    assert row["applicants_krw"] == 2_678_400 + 535_680 + 2_678_400
    assert row["government_krw"] == 35_712_000 - row["applicants_krw"]


async def test_an_open_source_release_after_two_invoices_credits_exactly_what_was_invoiced(stack: Stack) -> None:
    project = submitted("P2", participants=[
        CorporateParticipant(name="Big Corp", size="large", business_registration_number="1111111119"),
        CorporateParticipant(name="Small Co", size="small", business_registration_number="2222222227")])
    grant = allocated(project, gpus=8, start=DEC_1, end=MAR_1)
    await consume(stack, project, grant)
    clock = ManualClock(DEC_1)
    async with stack.api("billing", clock=clock) as api:
        # December and January: 8 GPUs x 31 days x 24 h x 4,000 KRW = 23,808,000 KRW each; each participant has
        # half the project: Big Corp 25% x 1/2 = 2,976,000 KRW, Small Co 7.5% x 1/2 = 892,800 KRW, each month
        december = await run_round(api, clock, JAN_1 + timedelta(hours=1))
        january = await run_round(api, clock, FEB_1 + timedelta(hours=1))
        assert totals(december) == totals(january) == {("invoice", "Big Corp"): 2_976_000,
                                                       ("invoice", "Small Co"): 892_800}
        paid = await api.post(f"/invoices/{december[0]['id']}/payment", headers=OPERATOR,
                              json={"paid_on": "2027-01-20", "reference": "KB-0001"})
        assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
        clock.set(FEB_1 + timedelta(days=10))
        release = await api.post(f"/applications/{project.application_id}/open-source-release", headers=OPERATOR,
                                 json={"url": "https://github.com/kaist/model", "released_on": "2027-02-10"})
        assert release.status_code == 201, release.text
        credit = await run_round(api, clock, FEB_1 + timedelta(days=10, hours=1))
        march = await run_round(api, clock, MAR_1 + timedelta(hours=1))
    assert totals(credit) == {("credit_note", "Big Corp"): 2_976_000 * 2, ("credit_note", "Small Co"): 892_800 * 2}
    numbers = {d["payer_name"]: sorted(i["number"] for i in december + january if i["payer_name"] == d["payer_name"])
               for d in credit}
    for note in credit:
        assert note["reason"] == "open_source_release"
        assert note["credits"] == numbers[note["payer_name"]]  # its own two invoices, not the other payer's
        assert all(line["amount_krw"] < 0 for line in note["lines"])
    assert sorted(d["number"] for d in credit) == ["CN-2027-000001", "CN-2027-000002"]
    assert march == []  # February's charges were waived before they were invoiced


async def test_a_reclaim_prorates_to_the_minute(stack: Stack) -> None:
    application = submitted("P1")
    grant = allocated(application, gpus=2, start=DEC_1, end=JAN_1)
    # reclaimed 2 days 10 h 30 min 45 s in: billed 58.5 h (the started minute is not) x 2 GPUs = 117 GPU-hours
    # x 4,000 KRW = 468,000 KRW; 30% = 140,400 KRW
    await consume(stack, application, grant, reclaimed(grant, DEC_1 + timedelta(days=2, hours=10, minutes=30,
                                                                                seconds=45)))
    clock = ManualClock(DEC_1)
    async with stack.api("billing", clock=clock) as api:
        issued = await run_round(api, clock, JAN_1 + timedelta(hours=1))
        ledger = (await api.get("/ledger", params={"application_id": str(application.application_id)},
                                headers=OPERATOR)).json()["items"]
    assert [d["total_krw"] for d in issued] == [140_400]
    assert issued[0]["lines"][0]["gpu_hours"] == "117.000000"
    # the whole month was posted, then reversed by the reclaim and the 58.5 hours posted: nothing edited
    applicant = [(line["direction"], line["amount_krw"], line["cause_type"]) for line in ledger
                 if line["payer_kind"] == "applicant"]
    month = 2 * 31 * 24 * 4000 * 3 // 10  # 1,785,600 KRW
    assert applicant == [("charge", month, "allocation.resource_allocated.v1"),
                         ("reversal", -month, "allocation.resource_reclaimed.v1"),
                         ("charge", 140_400, "allocation.resource_reclaimed.v1")]


async def test_a_price_change_mid_month_splits_the_period_whether_set_before_or_after(stack: Stack) -> None:
    early, late = submitted("P1"), submitted("P1")
    clock = ManualClock(DEC_1)
    async with stack.api("billing", clock=clock) as api:
        await consume(stack, early, allocated(early, gpus=1, start=DEC_1, end=JAN_1))
        changed = await api.put("/market-prices/csp-a/H100/2026-12-16", json={"krw_per_gpu_hour": 5000},
                                headers=OPERATOR)
        assert changed.status_code == 200, changed.text
        await consume(stack, late, allocated(late, gpus=1, start=DEC_1, end=JAN_1))
        issued = await run_round(api, clock, JAN_1 + timedelta(hours=1))
    # 15 days x 24 h x 4,000 = 1,440,000 and 16 days x 24 h x 5,000 = 1,920,000; 30% of 3,360,000 = 1,008,000 KRW
    assert [d["total_krw"] for d in issued] == [1_008_000, 1_008_000]
    shapes = [[(line["period_start"], line["period_end"], line["krw_per_gpu_hour"], line["amount_krw"])
               for line in d["lines"]] for d in issued]
    assert shapes[0] == shapes[1]
    assert [amount for *_, amount in shapes[0]] == [432_000, 576_000]


async def test_a_p3_allocation_is_billed_under_the_program_setting(stack: Stack) -> None:
    application = submitted("P3")
    settings = stack.settings("billing", payer=PayerSettings(p3_user_share="0.1"))
    # 1 GPU x 10 days x 24 h x 4,000 KRW = 960,000 KRW; 10% = 96,000 KRW
    await consume(stack, application, allocated(application, gpus=1, start=DEC_1, end=DEC_1 + timedelta(days=10)),
                  settings=settings)
    clock = ManualClock(DEC_1)
    async with stack.api("billing", clock=clock, payer=PayerSettings(p3_user_share="0.1")) as api:
        issued = await run_round(api, clock, JAN_1 + timedelta(hours=1))
    assert [(d["payer_kind"], d["total_krw"]) for d in issued] == [("applicant", 96_000)]


@pytest.fixture
async def twin(infra: Infra, template_database: str) -> AsyncIterator[Stack]:
    """A second database of its own, for a test that compares two histories."""
    database = await databases.clone(infra, template_database)
    yield Stack(infra=infra, database=database, topic_prefix=f"t{uuid.uuid4().hex[:10]}.")
    await databases.drop(infra, database)


async def test_events_delivered_twice_and_in_another_order_give_identical_invoices(stack: Stack, twin: Stack,
                                                                                   ) -> None:
    youth = submitted("P1")
    project = submitted("P2", participants=[CorporateParticipant(name="Big Corp", size="large"),
                                            CorporateParticipant(name="Mid Co", size="mid")])
    youth_grant = allocated(youth, gpus=3, start=DEC_1 + timedelta(hours=5), end=FEB_1, csps=("csp-a", "csp-b"))
    project_grant = allocated(project, gpus=8, start=DEC_1, end=MAR_1)
    streams = {
        "applications": [youth, project],
        "scores": [scored(youth, youth=True)],
        "allocations": [youth_grant, project_grant, reclaimed(youth_grant, JAN_1 + timedelta(days=3, seconds=30))],
    }

    async def documents(test_stack: Stack, order: list[Event]) -> tuple[list[dict[str, Any]], list[bytes]]:
        clock = ManualClock(DEC_1)
        async with test_stack.api("billing", clock=clock) as api:
            await consume(test_stack, *order)
            out = await run_round(api, clock, JAN_1 + timedelta(hours=1))
            out += await run_round(api, clock, FEB_1 + timedelta(hours=1))
            files = [(await api.get(f"/invoices/{d['id']}/{form}", headers=OPERATOR)).content
                     for d in out for form in ("csv", "html")]
        return out, files

    in_order = await documents(stack, [e for topic in streams.values() for e in topic])
    rng = random.Random(7)
    shuffled: list[Event] = []
    queues = {topic: list(events) * 2 for topic, events in streams.items()}  # every event twice, per-topic order kept
    while any(queues.values()):
        topic = rng.choice([t for t, q in queues.items() if q])
        shuffled.append(queues[topic].pop(0))
    assert await documents(twin, shuffled) == in_order  # every field, and the CSV and HTML byte for byte
    assert {d["payer_name"] for d in in_order[0]} == {"Haedal AI", "Big Corp", "Mid Co"}


async def test_a_partner_reads_its_own_documents_only(stack: Stack) -> None:
    mine, theirs = submitted("P1"), submitted("P1")
    await consume(stack, mine, theirs, *[allocated(a, gpus=1, start=DEC_1, end=JAN_1) for a in (mine, theirs)])
    clock = ManualClock(DEC_1)
    async with stack.api("billing", clock=clock) as api:
        issued = {d["partner_id"]: d["id"] for d in await run_round(api, clock, JAN_1 + timedelta(hours=1))}
        as_mine = bearer("partner", mine.partner_id)
        listed = (await api.get("/invoices", headers=as_mine)).json()
        by_application = (await api.get("/invoices", params={"application_id": str(mine.application_id)},
                                        headers=OPERATOR)).json()
        as_other_application = (await api.get("/invoices", params={"application_id": str(theirs.application_id)},
                                              headers=as_mine)).json()
        own = await api.get(f"/invoices/{issued[str(mine.partner_id)]}", headers=as_mine)
        other = await api.get(f"/invoices/{issued[str(theirs.partner_id)]}", headers=as_mine)
        ledger = (await api.get("/ledger", headers=as_mine)).json()["items"]
    assert [d["partner_id"] for d in listed] == [str(mine.partner_id)]
    assert [d["partner_id"] for d in by_application] == [str(mine.partner_id)]
    assert as_other_application == []
    assert own.status_code == 200
    assert other.status_code == 404
    assert {line["partner_id"] for line in ledger} == {str(mine.partner_id)}


async def test_the_ledger_refuses_edits_and_deletions(stack: Stack) -> None:
    application = submitted("P1")
    await consume(stack, application, allocated(application, gpus=1, start=DEC_1, end=JAN_1))
    for statement in ("UPDATE billing.ledger_line SET amount_krw = 0", "DELETE FROM billing.ledger_line"):
        try:
            await stack.fetch(statement)
        except Exception as exc:
            assert "append-only" in str(exc)
        else:
            raise AssertionError(f"{statement} was allowed")
    assert await stack.count("billing.ledger_line") == 2  # the applicant's line and the government's


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_streams_of_grants_reclaims_prices_and_releases_leave_the_documents_equal_to_the_ledger(
        stack: Stack, seed: int) -> None:
    """Whatever happens, in whatever order and with rounds run in between: every invoice line is positive, every
    credit note line negative, and once every month is over the documents add up to the payers' ledger to the won."""
    rng = random.Random(seed)
    applications = [submitted("P1"), submitted("P1"), submitted("P2", participants=[
        CorporateParticipant(name="Big Corp", size="large", project_share_bp=rng.randint(1, 5000)),
        CorporateParticipant(name="Mid Co", size="mid", project_share_bp=rng.randint(1, 5000))])]
    grants = [allocated(a, gpus=rng.randint(1, 8), csps=("csp-a", "csp-b")[: rng.randint(1, 2)],
                        start=DEC_1 + timedelta(minutes=rng.randint(0, 20_000)),
                        end=FEB_1 + timedelta(minutes=rng.randint(0, 40_000))) for a in applications]
    steps: list[Any] = [*applications, scored(applications[0], youth=True), *grants]
    steps += [reclaimed(g, g.starts_at + timedelta(seconds=rng.randint(60, 50 * 86_400))) for g in grants
              if rng.random() < 0.6]
    steps += [("price", f"2026-12-{rng.randint(2, 28):02d}", rng.randint(1_000, 9_000)) for _ in range(2)]
    steps += [("release", applications[2].application_id)]
    rng.shuffle(steps)
    clock = ManualClock(DEC_1)
    async with stack.api("billing", clock=clock) as api:
        rounds = [JAN_1 + timedelta(hours=1), FEB_1 + timedelta(hours=2), MAR_1 + timedelta(hours=3)]
        for i, step in enumerate(steps):
            if isinstance(step, tuple) and step[0] == "price":
                assert (await api.put(f"/market-prices/csp-a/H100/{step[1]}", json={"krw_per_gpu_hour": step[2]},
                                      headers=OPERATOR)).status_code == 200
            elif isinstance(step, tuple):
                await api.post(f"/applications/{step[1]}/open-source-release", headers=OPERATOR,
                               json={"url": "https://example.org/r", "released_on": "2027-01-15"})
            else:
                await consume(stack, step)
            if rounds and i % 3 == 2:
                await run_round(api, clock, rounds.pop(0))
        await run_round(api, clock, datetime(2027, 6, 1, 1, tzinfo=KST))
        documents = (await api.get("/invoices", params={"limit": 200}, headers=OPERATOR)).json()
    for document in documents:
        sign = 1 if document["kind"] == "invoice" else -1
        assert all(sign * line["amount_krw"] > 0 for line in document["lines"]), document
        assert sum(line["amount_krw"] for line in document["lines"]) == sign * document["total_krw"]
    billed = sum((1 if d["kind"] == "invoice" else -1) * d["total_krw"] for d in documents)
    (payers,) = await stack.fetch("SELECT coalesce(sum(amount_krw), 0) FROM billing.ledger_line "
                                  "WHERE payer_kind <> 'government'")
    assert billed == payers[0]


async def test_a_voided_invoice_keeps_its_number_and_its_lines_are_invoiced_again_under_the_next(
        stack: Stack) -> None:
    application = submitted("P1")
    # 1 GPU x 31 days x 24 h x 4,000 KRW = 2,976,000 KRW; 30% = 892,800 KRW
    await consume(stack, application, allocated(application, gpus=1, start=DEC_1, end=JAN_1))
    clock = ManualClock(DEC_1)
    async with stack.api("billing", clock=clock) as api:
        (first,) = await run_round(api, clock, JAN_1 + timedelta(hours=1))
        voided = await api.post(f"/invoices/{first['id']}/void", headers=OPERATOR, json={"reason": "wrong payer"})
        (second,) = await run_round(api, clock, JAN_1 + timedelta(hours=2))
        pay_void = await api.post(f"/invoices/{first['id']}/payment", headers=OPERATOR,
                                  json={"paid_on": "2027-01-10", "reference": "KB-1"})
        paid = await api.post(f"/invoices/{second['id']}/payment", headers=OPERATOR,
                              json={"paid_on": "2027-01-10", "reference": "KB-2"})
        void_paid = await api.post(f"/invoices/{second['id']}/void", headers=OPERATOR, json={"reason": "late"})
        issue_again = await api.post(f"/invoices/{second['id']}/issue", headers=OPERATOR)
        listed = {d["number"]: d["status"] for d in (await api.get("/invoices", headers=OPERATOR)).json()}
    assert (first["number"], first["total_krw"]) == ("INV-2027-000001", 892_800)
    assert voided.json()["status"] == "void" and voided.json()["void_reason"] == "wrong payer"
    assert (second["number"], second["total_krw"]) == ("INV-2027-000002", 892_800)
    assert [r.status_code for r in (pay_void, void_paid, issue_again)] == [409, 409, 409]
    assert paid.json()["status"] == "paid" and paid.json()["payment_reference"] == "KB-2"
    assert listed == {"INV-2027-000001": "void", "INV-2027-000002": "paid"}


async def test_with_a_review_period_a_draft_waits_for_it_or_for_an_operator_and_numbers_follow_the_issue_order(
        stack: Stack) -> None:
    first, second = submitted("P1"), submitted("P1")
    await consume(stack, first, second, *[allocated(a, gpus=1, start=DEC_1, end=JAN_1) for a in (first, second)])
    clock = ManualClock(DEC_1)
    review = InvoicingSettings(review_days=3)
    async with stack.api("billing", clock=clock, invoicing=review) as api:
        assert await run_round(api, clock, JAN_1 + timedelta(hours=1)) == []
        drafts = (await api.get("/invoices", params={"status": "draft"}, headers=OPERATOR)).json()
        chosen = next(d for d in drafts if d["partner_id"] == str(second.partner_id))
        as_partner = bearer("partner", second.partner_id)
        unseen = ((await api.get("/invoices", headers=as_partner)).json(),
                  (await api.get(f"/invoices/{chosen['id']}", headers=as_partner)).status_code)
        issued = (await api.post(f"/invoices/{chosen['id']}/issue", headers=OPERATOR)).json()
        still = await run_round(api, clock, JAN_1 + timedelta(days=2))  # the other draft keeps its first drafting
        rest = await run_round(api, clock, JAN_1 + timedelta(days=3, hours=1))
    assert len(drafts) == 2 and all(d["number"] is None for d in drafts)
    assert unseen == ([], 404)  # a draft is the operators' to review, not yet the partner's
    assert (issued["status"], issued["number"]) == ("issued", "INV-2027-000001")
    assert still == []
    assert [(d["partner_id"], d["number"]) for d in rest] == [(str(first.partner_id), "INV-2027-000002")]


async def test_the_busy_gpu_hours_telemetry_measured_are_shown_beside_each_line_and_not_billed(stack: Stack) -> None:
    application = submitted("P1")
    grant = allocated(application, gpus=2, start=DEC_1, end=DEC_1 + timedelta(days=2))
    hours = [(DEC_1 + timedelta(hours=h), gpu_hours) for h, gpu_hours in ((0, 1.5), (1, 2.0), (30, 0.25))]
    usage = [UsageRecorded(application_id=application.application_id, allocation_id=grant.allocation_id,
                           window_start=at, window_end=at + timedelta(hours=1), gpu_hours=gpu_hours,
                           utilization_pct=50) for at, gpu_hours in hours]
    await consume(stack, application, grant, *usage)
    clock = ManualClock(DEC_1)
    async with stack.api("billing", clock=clock) as api:
        (invoice,) = await run_round(api, clock, JAN_1 + timedelta(hours=1))
    # 2 GPUs x 48 h = 96 GPU-hours reserved x 4,000 KRW = 384,000 KRW; 30% = 115,200 KRW, whatever was busy
    (line,) = invoice["lines"]
    assert (line["gpu_hours"], line["amount_krw"], line["busy_gpu_hours"]) == ("96.000000", 115_200, "3.750000")
