"""Billing end to end, every service as a real process: a P1 youth company and a P2 project with a corporate
participant are reviewed, selected, placed and invoiced through the partner and operator APIs; the project's
open-source release is recorded and the participant's invoice is credited back in full.

The allocations are for September 2026, a month already over, so that the services' real clocks invoice them now.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from contracts import topics
from support.auth import OPERATOR, bearer
from support.kafka import read_topic
from support.stack import Stack, eventually, ok

pytestmark = pytest.mark.e2e

REVIEWERS = [("Dr. Han", "Review Board A", ["nlp"]), ("Dr. Seo", "Review Board B", ["vision"]),
             ("Dr. Yoon", "Review Board C", ["speech"])]
SEPTEMBER = {"period_start": "2026-09-01", "period_end": "2026-09-30"}
P1_PRICE, P2_PRICE = 5_000, 6_000


def p1_form(call_id: str) -> dict[str, Any]:
    return {"program": "P1", "call_id": call_id,
            "applicant": {"name": "CEO Lee", "sector": "industry", "institution": "Haedal AI", "region": "Busan"},
            "company": {"business_registration_number": "1234567891", "size": "startup",
                        "head_office_region": "Busan", "representative_birth_date": "1995-05-05"},
            "gpus_requested": 2, "gpu_model": "H100", "planned_gpu_hours_per_month": 600,
            "purpose": "an nlp assistant for clinics", "training_data_scale": "20 GB", **SEPTEMBER}


def p2_form(call_id: str) -> dict[str, Any]:
    return {"program": "P2", "call_id": call_id,
            "applicant": {"name": "Prof. Kim", "sector": "academia", "institution": "KAIST", "region": "Daejeon"},
            "researcher": {"institution_type": "university", "appointment_date": "2001-03-01",
                           "birth_date": "1968-01-01"},
            "servers_requested": 1, "gpu_model": "H200", "planned_gpu_hours_per_month": 4000,
            "purpose": "a foundation model for materials science", "open_source": True,
            "corporate_participants": [
                {"name": "Big Materials Co", "size": "large", "business_registration_number": "2208112341",
                 "project_share_bp": 5000}],
            **SEPTEMBER}


async def test_a_youth_company_pays_half_and_an_open_source_release_credits_the_participant(
        services: dict[str, str], stack: Stack) -> None:
    intake, evaluation, allocation, billing = (services[s] for s in ("intake", "evaluation", "allocation", "billing"))
    partner_id = uuid.uuid4()
    partner = bearer("partner", partner_id)
    async with httpx.AsyncClient(timeout=30) as http:
        for pool, model, price in (("P1", "H100", P1_PRICE), ("P2", "H200", P2_PRICE)):
            csp = f"{pool.lower()}-cloud"
            await ok(http.post(f"{allocation}/csps", headers=OPERATOR, json={"name": csp}), 201)
            await ok(http.post(f"{allocation}/servers", headers=OPERATOR, json={
                "csp": csp, "name": f"{pool.lower()}-00", "region": "Daejeon", "gpu_model": model, "gpus": 8,
                "pool": pool}), 201)
            await ok(http.put(f"{billing}/market-prices/{csp}/{model}/2026-01-01", headers=OPERATOR,
                              json={"krw_per_gpu_hour": price}))
        reviewers = [await ok(http.post(f"{evaluation}/reviewers", headers=OPERATOR, json={
            "name": n, "institution": inst, "expertise": e}), 201) for n, inst, e in REVIEWERS]
        tokens = {r["id"]: bearer("reviewer", uuid.UUID(r["id"])) for r in reviewers}
        now = datetime.now(UTC)
        app_ids: dict[str, str] = {}
        calls: dict[str, str] = {}
        for program, form in (("P1", p1_form), ("P2", p2_form)):
            call = await ok(http.post(f"{intake}/calls", headers=OPERATOR, json={
                "program": program, "title": f"{program} autumn", "opens_at": (now - timedelta(minutes=5)).isoformat(),
                "closes_at": (now + timedelta(days=14)).isoformat()}), 201)
            calls[program] = call["id"]
            app_ids[program] = (await ok(http.post(f"{intake}/applications", headers=partner,
                                                   json=form(call["id"])), 201))["id"]
        for program, app_id in app_ids.items():
            panel = await eventually(lambda a=app_id: assigned(http, evaluation, a), what=f"the {program} panel")
            for member in panel["assigned"][:2]:
                await ok(http.post(f"{evaluation}/reviews", headers=tokens[member["reviewer_id"]], json={
                    "application_id": app_id, "scores": {"technical_social_impact": 85,
                                                         "ai_ecosystem_contribution": 85,
                                                         "capability_readiness": 85}}), 201)
            await ok(http.post(f"{intake}/calls/{calls[program]}/close", headers=OPERATOR, json={}))
        for program, app_id in app_ids.items():
            await eventually(lambda a=app_id: ledger_posted(http, billing, a), timeout=90,
                             what=f"the {program} allocation in billing's ledger")

        # September: 30 days x 24 h = 720 h; the period runs from 00:00 on 1 Sep to 00:00 on 1 Oct in Korea, the
        # month billing cuts on, so it is one segment (a UTC-midnight period would leave 9 h of it in October):
        # P1, a youth company: 2 GPUs x 720 h x 5,000 KRW = 7,200,000 KRW; 30% halved = 15% → 1,080,000 KRW
        # P2, the large participant with half the project: 8 GPUs x 720 h x 6,000 = 34,560,000; 25% x 50% → 4,320,000
        await ok(http.post(f"{billing}/invoices/rounds", headers=OPERATOR))
        invoices = await eventually(lambda: documents(http, billing, partner, "invoice", 2), what="two invoices")
        by_payer = {d["payer_name"]: d for d in invoices}
        assert {name: d["total_krw"] for name, d in by_payer.items()} == {"Haedal AI": 1_080_000,
                                                                       "Big Materials Co": 4_320_000}
        assert [line["amount_krw"] for line in by_payer["Haedal AI"]["lines"]] == [1_080_000]
        assert {line["share_pct"] for line in by_payer["Big Materials Co"]["lines"]} == {"12.5000"}
        assert all(d["status"] == "issued" and d["number"].startswith("INV-") for d in invoices)
        other = await http.get(f"{billing}/invoices/{invoices[0]['id']}", headers=bearer("partner", uuid.uuid4()))
        assert other.status_code == 404

        released = await http.post(f"{billing}/applications/{app_ids['P2']}/open-source-release", headers=OPERATOR,
                                   json={"url": "https://github.com/kaist-materials/model", "released_on":
                                         now.date().isoformat()})
        assert released.status_code == 201, released.text
        await ok(http.post(f"{billing}/invoices/rounds", headers=OPERATOR))
        (credit,) = await eventually(lambda: documents(http, billing, partner, "credit_note", 1),
                                     what="the credit note")
        assert (credit["payer_name"], credit["total_krw"], credit["reason"]) == \
            ("Big Materials Co", 4_320_000, "open_source_release")
        assert credit["credits"] == [by_payer["Big Materials Co"]["number"]]

    published = await read_topic(stack.infra.kafka_bootstrap, stack.topic(topics.INVOICES), at_least=5)
    types = sorted(dict(record.headers)["ce_type"].decode() for record in published)
    assert types.count("billing.invoice_issued.v2") == 2
    assert types.count("billing.credit_note_issued.v1") == 1
    assert types.count("billing.open_source_release_recorded.v1") == 1


async def assigned(http: httpx.AsyncClient, evaluation: str, app_id: str) -> Any:
    response = await http.get(f"{evaluation}/evaluations/{app_id}/panel", headers=OPERATOR)
    return response.json() if response.status_code == 200 and response.json()["assigned"] else None


async def ledger_posted(http: httpx.AsyncClient, billing: str, app_id: str) -> bool:
    page = await ok(http.get(f"{billing}/ledger", params={"application_id": app_id}, headers=OPERATOR))
    return any(line["payer_kind"] != "government" for line in page["items"])


async def documents(http: httpx.AsyncClient, billing: str, partner: dict[str, str], kind: str,
                    expected: int) -> list[dict[str, Any]] | None:
    found = await ok(http.get(f"{billing}/invoices", params={"kind": kind}, headers=partner))
    return found if len(found) == expected else None
