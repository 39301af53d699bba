"""Who may call evaluation: a bearer token on every request, operator endpoints, and reviewers acting for themselves."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from contracts import Applicant, ApplicationSubmitted, Company
from evaluation.bootstrap import bootstrap
from evaluation.entrypoints.api import create_app
from evaluation.entrypoints.consumer import evaluate_submitted
from servicekit.auth import AuthConfigError, AuthSettings, Principal, TokenIssuer
from support.auth import OPERATOR, bearer, refused_tokens
from support.stack import Stack

SCORES = {"technical_social_impact": 80, "ai_ecosystem_contribution": 70, "capability_readiness": 90}
SOME_ID = uuid.uuid4()
OPERATOR_CALLS = [("POST", "/reviewers", {"name": "A", "institution": "B"}), ("GET", "/reviewers", None),
                  ("GET", "/policies", None), ("GET", "/policies/2026.1", None),
                  ("POST", "/policies", {"version": "2027.1"}), ("POST", "/policies/2026.1/cancel", None),
                  ("POST", "/policies/preview", {"version": "2027.1"}), ("GET", "/evaluations", None),
                  ("GET", f"/evaluations/{SOME_ID}/panel", None), ("POST", f"/evaluations/{SOME_ID}/recheck", {}),
                  ("GET", f"/rounds/{SOME_ID}", None),
                  ("POST", "/dead-letters/redrive", {"topic": "evaluation.scores.v1.dlq", "partition": 0, "offset": 0})]
EVERY_CALL = [*OPERATOR_CALLS, ("GET", f"/evaluations/{SOME_ID}", None),
              ("POST", "/reviews", {"application_id": str(SOME_ID), "scores": SCORES}),
              ("GET", f"/reviewers/{SOME_ID}/assignments", None)]


def token(issuer: TokenIssuer, role: str = "operator", subject: object | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {issuer.issue(Principal.of('tests', role, subject)).token}"}



def p1_submitted() -> ApplicationSubmitted:
    return ApplicationSubmitted(
        application_id=uuid.uuid4(), partner_id=uuid.uuid4(), program="P1", call_id=uuid.uuid4(),
        applicant=Applicant(name="Hong Gildong", sector="industry", institution="Acme AI", region="Busan"),
        company=Company(business_registration_number="1234567891", size="startup", head_office_region="Busan",
                        representative_birth_date=date(1992, 5, 1)),
        gpus_requested=8, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=3000, purpose="inference", occurred_at=datetime(2026, 4, 10, tzinfo=UTC))


async def with_panel(stack: Stack, api: httpx.AsyncClient) -> tuple[ApplicationSubmitted, list[str], str]:
    """A P1 application in review: its three panel members' ids, and the id of a fourth reviewer left out."""
    ids = []
    for name in ("Ahn", "Baek", "Cho", "Dong"):
        response = await api.post("/reviewers", json={"name": name, "institution": "POSTECH"}, headers=OPERATOR)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    event = p1_submitted()
    runtime = bootstrap(stack.settings("evaluation"))
    try:
        await runtime.bus.handle(evaluate_submitted(event), message_id=event.id, message_type=event.type)
    finally:
        await runtime.aclose()
    panel = (await api.get(f"/evaluations/{event.application_id}/panel", headers=OPERATOR)).json()
    assigned = [m["reviewer_id"] for m in panel["assigned"]]
    [outsider] = set(ids) - set(assigned)
    return event, assigned, outsider


async def refusals(api: httpx.AsyncClient, calls: list[tuple[str, str, Any]],
                   headers: dict[str, str]) -> list[tuple[str, str, int, dict[str, Any]]]:
    """Each call's answer: its status, and its problem body with the WWW-Authenticate challenge added."""
    found = []
    for method, path, body in calls:
        response = await api.request(method, path, json=body, headers=headers)
        challenge = response.headers.get("WWW-Authenticate")
        found.append((method, path, response.status_code, {**response.json(), "challenge": challenge}))
    return found


async def test_every_endpoint_refuses_a_request_without_a_token_with_401(stack: Stack) -> None:
    async with stack.api("evaluation") as api:
        found = await refusals(api, EVERY_CALL, {})
    for method, path, status, body in found:
        assert status == 401, (method, path, body)
        assert body["errors"] == [{"field": "Authorization", "reason": "missing"}], (method, path)
        assert body["challenge"] == 'Bearer realm="gpu-platform"'
    assert await stack.count("evaluation.reviewer") == 0
    assert await stack.count("evaluation.policy_version") == 1


async def test_every_endpoint_refuses_a_forged_expired_or_malformed_token_with_401_saying_why(stack: Stack) -> None:
    async with stack.api("evaluation") as api:
        found = {reason: await refusals(api, EVERY_CALL, headers) for reason, headers in refused_tokens().items()}
    for reason, answers in found.items():
        for method, path, status, body in answers:
            assert (status, body["errors"][0]["reason"]) == (401, reason), (method, path, body)
            if reason != "missing":
                assert f'error_description="{reason}"' in body["challenge"]
    assert await stack.count("evaluation.reviewer") == 0
    assert await stack.count("evaluation.policy_version") == 1


async def test_operator_endpoints_refuse_partners_reviewers_and_csps_with_403(stack: Stack) -> None:
    async with stack.api("evaluation") as api:
        found = {role: await refusals(api, OPERATOR_CALLS, bearer(role)) for role in ("partner", "reviewer", "csp")}
        listed = await api.get("/evaluations", headers=OPERATOR)
    for role, answers in found.items():
        for method, path, status, body in answers:
            assert (status, body["title"]) == (403, "Forbidden"), (role, method, path, body)
            assert f"a {role} may not do this" in body["detail"]
    assert listed.status_code == 200
    assert await stack.count("evaluation.reviewer") == 0
    assert await stack.count("evaluation.policy_version") == 1


async def test_only_a_reviewer_posts_a_review_and_always_as_itself(stack: Stack) -> None:
    async with stack.api("evaluation") as api:
        event, assigned, _ = await with_panel(stack, api)
        body = {"application_id": str(event.application_id), "scores": SCORES}
        others = {role: await api.post("/reviews", json=body, headers=headers)
                  for role, headers in {"operator": OPERATOR, "partner": bearer("partner"),
                                        "csp": bearer("csp")}.items()}
        naming_one = await api.post("/reviews", json={**body, "reviewer_id": assigned[0]},
                                    headers=bearer("reviewer", assigned[1]))
        refused = await stack.fetch("SELECT 1 FROM evaluation.review_assignment WHERE reviewed_at IS NOT NULL")
        own = await api.post("/reviews", json=body, headers=bearer("reviewer", assigned[1]))

    assert {role: r.status_code for role, r in others.items()} == {"operator": 403, "partner": 403, "csp": 403}
    assert naming_one.status_code == 422
    assert [e["field"] for e in naming_one.json()["errors"]] == ["reviewer_id"]
    assert refused == []
    assert (own.status_code, own.json()["reviewer_id"]) == (201, assigned[1])


async def test_a_reviewer_cannot_review_an_application_assigned_to_other_reviewers(stack: Stack) -> None:
    async with stack.api("evaluation") as api:
        event, assigned, outsider = await with_panel(stack, api)
        body = {"application_id": str(event.application_id), "scores": SCORES}
        by_outsider = await api.post("/reviews", json=body, headers=bearer("reviewer", outsider))
        by_stranger = await api.post("/reviews", json=body, headers=bearer("reviewer"))  # unknown to evaluation
        reviewed = await stack.fetch("SELECT reviewer_id FROM evaluation.review_assignment "
                                     "WHERE reviewed_at IS NOT NULL")
        evaluation = (await api.get(f"/evaluations/{event.application_id}", headers=OPERATOR)).json()

    assert (by_outsider.status_code, by_stranger.status_code) == (403, 403)
    assert f"reviewer {outsider} is not assigned" in by_outsider.json()["detail"]
    assert reviewed == []
    assert (evaluation["reviews_received"], evaluation["score"]) == (0, None)
    assert outsider not in assigned


async def test_a_reviewer_reads_the_evaluations_on_its_panel_and_no_other(stack: Stack) -> None:
    async with stack.api("evaluation") as api:
        event, assigned, outsider = await with_panel(stack, api)
        path = f"/evaluations/{event.application_id}"
        member = await api.get(path, headers=bearer("reviewer", assigned[0]))
        not_member = await api.get(path, headers=bearer("reviewer", outsider))
        unknown = await api.get(f"/evaluations/{uuid.uuid4()}", headers=bearer("reviewer", outsider))
        listing = await api.get("/evaluations", headers=bearer("reviewer", assigned[0]))
        by_others = [await api.get(path, headers=bearer(role)) for role in ("partner", "csp")]
        by_operator = await api.get(path, headers=OPERATOR)

    assert (member.status_code, member.json()["application_id"]) == (200, str(event.application_id))
    assert member.json()["purpose"] == "inference"
    assert (not_member.status_code, unknown.status_code) == (403, 403)  # an unknown id looks like another panel's
    assert listing.status_code == 403
    assert [r.status_code for r in by_others] == [403, 403]
    assert by_operator.status_code == 200


async def test_a_reviewer_s_assignments_are_for_operators_and_that_reviewer_only(stack: Stack) -> None:
    async with stack.api("evaluation") as api:
        event, assigned, outsider = await with_panel(stack, api)
        path = f"/reviewers/{assigned[0]}/assignments"
        own = await api.get(path, headers=bearer("reviewer", assigned[0]))
        by_operator = await api.get(path, headers=OPERATOR)
        refused = [await api.get(path, headers=headers)
                   for headers in (bearer("reviewer", outsider), bearer("partner"), bearer("csp"))]

    assert [a["application_id"] for a in own.json()] == [str(event.application_id)]
    assert by_operator.json() == own.json()
    assert [r.status_code for r in refused] == [403, 403, 403]


async def test_the_openapi_document_wants_a_bearer_token_on_every_route(stack: Stack) -> None:
    async with stack.api("evaluation") as api:
        document = (await api.get("/openapi.json")).json()
    operations = [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()
                  if path not in ("/healthz", "/readyz")]
    assert len(operations) == len(EVERY_CALL)
    for path, method, op in operations:
        assert op["security"] == [{"bearer": []}], (method, path)
        assert {"401", "403"} <= set(op["responses"]), (method, path)
        assert not [p for p in op.get("parameters", []) if p["in"] == "header"], (method, path)
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_the_service_refuses_to_start_without_a_public_key(stack: Stack) -> None:
    with pytest.raises(AuthConfigError, match="PUBLIC_KEYS_PEM"):
        create_app(stack.settings("evaluation", auth=AuthSettings()))  # type: ignore[arg-type]
