"""The evaluation API on the real database: one evaluation, the newest-first list, and refused input."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from evaluation.domain.commands import EvaluateApplication
from evaluation.domain.model import Applicant, Company
from support.auth import OPERATOR
from support.stack import Stack


def evaluate(program: str = "P3", sector: str = "academia", **overrides: Any) -> EvaluateApplication:
    fields: dict[str, Any] = dict(
        application_id=uuid.uuid4(), program=program, call_id=None,
        applicant=Applicant(sector=sector, institution="KAIST", region="Daejeon", name="Dr. Kim"),
        gpus_requested=8, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=2920, submitted_at=datetime(2026, 4, 10, 9, 0, tzinfo=UTC),
    )
    fields.update(overrides)
    return EvaluateApplication(**fields)



async def test_an_unknown_application_is_not_found(stack: Stack) -> None:
    async with stack.api("evaluation") as api:
        response = await api.get(f"/evaluations/{uuid.uuid4()}", headers=OPERATOR)
    assert response.status_code == 404
    assert response.json()["title"] == "EvaluationNotFound"


async def test_a_malformed_application_id_is_refused_naming_it(stack: Stack) -> None:
    async with stack.api("evaluation") as api:
        response = await api.get("/evaluations/not-a-uuid", headers=OPERATOR)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "path.application_id"


async def test_a_rejected_evaluation_shows_each_failed_rule_and_no_score(stack: Stack) -> None:
    cmd = evaluate("P2", "industry", gpus_requested=12)
    await stack.handle("evaluation", cmd)
    async with stack.api("evaluation") as api:
        body = (await api.get(f"/evaluations/{cmd.application_id}", headers=OPERATOR)).json()
    assert (body["status"], body["score"], body["components"]) == ("rejected", None, [])
    assert [r.split(":")[0] for r in body["failed_rules"]] == ["p2_research_sector", "p2_whole_servers"]
    assert [r["rule"] for r in body["rules"] if not r["passed"]] == ["p2_research_sector", "p2_whole_servers"]
    assert body["applicant"] == {"name": "Dr. Kim", "sector": "industry", "institution": "KAIST",
                                 "region": "Daejeon"}


async def test_the_list_is_newest_first_and_filters_by_program_and_status(stack: Stack) -> None:
    startup = Company("1234567891", "startup", "Busan", date(1990, 1, 1))
    first = evaluate()
    second = evaluate("P1", "industry", gpus_requested=4, planned_gpu_hours_per_month=100, company=startup)
    third, fourth = evaluate(gpus_requested=3, planned_gpu_hours_per_month=10_000), evaluate()
    await stack.handle("evaluation", first, second, third, fourth)
    async with stack.api("evaluation") as api:
        everything = (await api.get("/evaluations", headers=OPERATOR)).json()
        p3 = (await api.get("/evaluations", params={"program": "P3"}, headers=OPERATOR)).json()
        eligible_p3 = (await api.get("/evaluations", params={"program": "P3", "status": "eligible"},
                                     headers=OPERATOR)).json()
        newest = (await api.get("/evaluations", params={"limit": 1}, headers=OPERATOR)).json()

    def ids(body: list[dict[str, Any]]) -> list[str]:
        return [e["application_id"] for e in body]
    assert ids(everything) == [str(c.application_id) for c in (fourth, third, second, first)]
    assert ids(p3) == [str(c.application_id) for c in (fourth, third, first)]
    assert ids(eligible_p3) == [str(c.application_id) for c in (fourth, first)]
    assert ids(newest) == [str(fourth.application_id)]
    assert [e["status"] for e in everything] == ["eligible", "rejected", "awaiting_reviewers", "eligible"]
    assert everything[2]["company"] == {"business_registration_number": "1234567891", "size": "startup",
                                        "head_office_region": "Busan", "representative_birth_date": "1990-01-01"}


async def test_the_list_filters_by_call(stack: Stack) -> None:
    call_id = uuid.uuid4()
    mine, other = evaluate(call_id=call_id), evaluate()
    await stack.handle("evaluation", mine, other)
    async with stack.api("evaluation") as api:
        found = (await api.get("/evaluations", params={"call_id": str(call_id)}, headers=OPERATOR)).json()
    assert [e["application_id"] for e in found] == [str(mine.application_id)]


async def test_bad_list_filters_are_refused_naming_each_field(stack: Stack) -> None:
    async with stack.api("evaluation") as api:
        bad_status = await api.get("/evaluations", params={"status": "scored"}, headers=OPERATOR)
        bad_limit = await api.get("/evaluations", params={"limit": 0, "program": "P9"}, headers=OPERATOR)
        unknown = await api.get("/evaluations", params={"programme": "P3"}, headers=OPERATOR)
    assert bad_status.status_code == bad_limit.status_code == unknown.status_code == 422
    assert [e["field"] for e in bad_status.json()["errors"]] == ["query.status"]
    assert {e["field"] for e in bad_limit.json()["errors"]} == {"query.limit", "query.program"}
    assert [e["field"] for e in unknown.json()["errors"]] == ["query.programme"]
