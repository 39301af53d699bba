"""A P1 round end to end: 30 applications from two partners, panels, reviews, the call closed, every one scored,
and the round selected onto the P1 pool: the selected active, the rest waitlisted.

All five services run as real processes; every step goes through their HTTP APIs with real access tokens.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from intake.domain.registration import with_check_digit
from support.auth import OPERATOR, bearer
from support.stack import eventually, ok

pytestmark = pytest.mark.e2e

APPLICATIONS = 30
REVIEWERS = [("Dr. Han", "KAIST", ["nlp"]), ("Dr. Seo", "POSTECH", ["vision"]), ("Dr. Yoon", "SNU", ["speech"]),
             ("Dr. Jang", "UNIST", ["nlp", "speech"]), ("Dr. Lim", "GIST", ["vision"])]
PURPOSES = ["an nlp assistant for clinics", "vision inspection of wafers", "speech recognition for call centres"]


def p1_form(i: int, call_id: str) -> dict[str, Any]:
    """Applicant i: regional when i % 3 == 0 (Busan, not the capital region), youth when i is even."""
    region = "Busan" if i % 3 == 0 else "Seoul"
    gpus = i % 16 + 1
    return {
        "program": "P1", "call_id": call_id,
        "applicant": {"name": f"CEO {i}", "sector": "industry", "institution": f"Startup {i}", "region": region},
        "company": {"business_registration_number": with_check_digit(f"{100000000 + i}"), "size": "startup",
                    "head_office_region": region,
                    "representative_birth_date": "1995-05-05" if i % 2 == 0 else "1970-05-05"},
        "gpus_requested": gpus, "gpu_model": "H100", "period_start": "2027-01-01", "period_end": "2027-06-30",
        "planned_gpu_hours_per_month": gpus * 300, "purpose": PURPOSES[i % 3],
        "training_data_scale": f"{10 * (i + 1)} GB",
    }


def criterion_scores(i: int, reviewer: int) -> dict[str, float]:
    base = 50 + (i * 7 + reviewer * 3) % 40
    return {"technical_social_impact": base, "ai_ecosystem_contribution": base + 5,
            "capability_readiness": base - 5}


def expected_score(i: int, reviews: list[dict[str, float]]) -> Decimal:
    """Equal thirds of each criterion's mean, rounded half-up once; +3 regional, +3 youth (policy 2026.1)."""
    means = [sum(Decimal(str(r[c])) for r in reviews) / len(reviews) for c in reviews[0]]
    rubric = (sum(means) / 3).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return rubric + (3 if i % 3 == 0 else 0) + (3 if i % 2 == 0 else 0)


async def test_a_p1_round_of_thirty_applications_is_reviewed_closed_and_scored(services: dict[str, str]) -> None:
    intake, evaluation, allocation = services["intake"], services["evaluation"], services["allocation"]
    partners = [bearer("partner", uuid.uuid4()), bearer("partner", uuid.uuid4())]
    async with httpx.AsyncClient(timeout=30) as http:
        now = datetime.now(UTC)
        call = await ok(http.post(f"{intake}/calls", headers=OPERATOR, json={
            "program": "P1", "title": "P1 2027 first round", "opens_at": (now - timedelta(minutes=5)).isoformat(),
            "closes_at": (now + timedelta(days=14)).isoformat()}), 201)
        reviewers = [await ok(http.post(f"{evaluation}/reviewers", headers=OPERATOR, json={
            "name": name, "institution": institution, "expertise": expertise}), 201)
            for name, institution, expertise in REVIEWERS]
        tokens = {r["id"]: bearer("reviewer", uuid.UUID(r["id"])) for r in reviewers}

        await ok(http.post(f"{allocation}/csps", headers=OPERATOR, json={"name": "alpha-cloud"}), 201)
        for n in range(4):
            await ok(http.post(f"{allocation}/servers", headers=OPERATOR, json={
                "csp": "alpha-cloud", "name": f"p1-{n}", "region": "Seoul", "gpu_model": "H100", "gpus": 8,
                "pool": "P1"}), 201)
        ids = [(await ok(http.post(f"{intake}/applications", headers=partners[i % 2],
                                   json=p1_form(i, call["id"])), 201))["id"] for i in range(APPLICATIONS)]

        # each application gets its panel; two of its reviewers score it
        reviews: dict[str, list[dict[str, float]]] = {}
        for i, app_id in enumerate(ids):
            panel = await eventually(lambda a=app_id: assigned(http, evaluation, a), what=f"the panel of {i}")
            assert len(panel["assigned"]) == 3
            reviews[app_id] = []
            for n, member in enumerate(panel["assigned"][:2]):
                scores = criterion_scores(i, n)
                await ok(http.post(f"{evaluation}/reviews", headers=tokens[member["reviewer_id"]],
                                   json={"application_id": app_id, "scores": scores}), 201)
                reviews[app_id].append(scores)
        await eventually(lambda: has_status(http, intake, partners[0], ids[0], "in_review"),
                         what="intake to show the first application in review")

        await ok(http.post(f"{intake}/calls/{call['id']}/close", headers=OPERATOR, json={}))

        async def round_scored() -> Any:
            response = await http.get(f"{evaluation}/rounds/{call['id']}", headers=OPERATOR)
            return response.json() if response.status_code == 200 and response.json()["scored_at"] else None

        scored_round = await eventually(round_scored, timeout=90, what="the round to be scored")
        assert sorted(scored_round["application_ids"]) == sorted(ids)
        assert scored_round["undecided"] == []
        for i, app_id in enumerate(ids):
            result = await ok(http.get(f"{evaluation}/evaluations/{app_id}", headers=OPERATOR))
            assert result["status"] == "eligible" and result["score_final"]
            assert Decimal(str(result["score"])) == expected_score(i, reviews[app_id]), i
            assert sum(Decimal(str(c["points"])) for c in result["components"]) == Decimal(str(result["score"]))
            assert {c["name"] for c in result["criteria"]} == set(reviews[app_id][0])
        # allocation selects the round: 4 servers of 8 H100 for 241 GPUs asked, so most wait
        decided = await eventually(lambda: selected_round(http, allocation, call["id"]), timeout=60,
                                   what="the round to be selected")
        chosen = {d["application_id"] for d in decided["decisions"] if d["selected"]}
        assert 0 < sum(d["gpus"] for d in decided["decisions"] if d["selected"]) <= 32
        # the round's input was kept with what each score was made of: a what-if replays it, changing nothing
        what_if = await ok(http.post(f"{allocation}/rounds/{call['id']}/what-if", headers=OPERATOR, json={
            "variants": [{"name": "recorded"}, {"name": "no bonuses", "bonus_points": {
                "regional_company": 0, "youth_company": 0}}]}))
        recorded, no_bonuses = what_if["variants"]
        assert (what_if["candidates"], recorded["vs_baseline"]["changes"]) == (APPLICATIONS, [])
        regional = sum(d["gpus"] for d in decided["decisions"] if ids.index(d["application_id"]) % 3 == 0
                       and d["selected"])
        assert recorded["vs_decisions"]["gpus"]["region_class"].get("non_capital", {}).get("before", 0) == regional
        assert set(recorded["vs_decisions"]["gpus"]["sector"]) == {"industry"}
        assert all(c["score_after"] <= c["score_before"] for c in no_bonuses["vs_baseline"]["changes"]
                   if c["after_selected"] is False)
        for i, app_id in enumerate(ids):
            outcome = "active" if app_id in chosen else "waitlisted"
            await eventually(lambda a=app_id, p=partners[i % 2], o=outcome: has_status(http, intake, p, a, o),
                             what=f"intake to show application {i} {outcome}")
        # each partner sees its own fifteen, and only those
        listed = await ok(http.get(f"{intake}/applications", headers=partners[1], params={"limit": 100}))
        assert sorted(a["id"] for a in listed["items"]) == sorted(ids[1::2])


async def assigned(http: httpx.AsyncClient, evaluation: str, app_id: str) -> Any:
    response = await http.get(f"{evaluation}/evaluations/{app_id}/panel", headers=OPERATOR)
    return response.json() if response.status_code == 200 and response.json()["assigned"] else None


async def status_of(http: httpx.AsyncClient, intake: str, partner: dict[str, str], app_id: str) -> str:
    return str((await ok(http.get(f"{intake}/applications/{app_id}", headers=partner)))["status"])


async def selected_round(http: httpx.AsyncClient, allocation: str, call_id: str) -> Any:
    response = await http.get(f"{allocation}/rounds/{call_id}", headers=OPERATOR)
    return response.json() if response.status_code == 200 and response.json()["status"] == "selected" else None


async def has_status(http: httpx.AsyncClient, intake: str, partner: dict[str, str], app_id: str,
                     status: str) -> bool:
    return await status_of(http, intake, partner, app_id) == status
