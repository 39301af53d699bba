"""Intake as the platform's token issuer, and every one of its endpoints behind a token and a role."""
from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from intake.__main__ import COMMANDS
from servicekit.auth import Principal, Role, TokenIssuer, generate_keypair
from support.auth import auth_settings, bearer
from support.stack import Stack

UNAUTHENTICATED = {("/oauth/token", "post"), ("/healthz", "get"), ("/readyz", "get"),
                   ("/.well-known/jwks.json", "get"), ("/.well-known/oauth-authorization-server", "get")}
OPERATOR_ONLY = [("post", "/calls"), ("post", "/calls/{id}/close"), ("post", "/clients"), ("get", "/clients"),
                 ("post", "/clients/{id}/revoke"), ("post", "/dead-letters/redrive")]
PARTNER_ONLY = [("post", "/applications"), ("put", "/applications/{id}"), ("get", "/applications/{id}"),
                ("post", "/applications/{id}/submit"), ("post", "/applications/{id}/withdraw"),
                ("post", "/applications/{id}/offer/accept"), ("post", "/applications/{id}/offer/decline"),
                ("post", "/webhooks"), ("get", "/webhooks"), ("delete", "/webhooks/{id}"),
                ("get", "/webhooks/{id}/deliveries")]


async def token(api: httpx.AsyncClient, client: dict[str, Any]) -> dict[str, str]:
    response = await api.post("/oauth/token", data={"grant_type": "client_credentials"},
                              auth=(client["client_id"], client["client_secret"]))
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_the_bootstrapped_operator_creates_a_partner_whose_token_submits_its_applications(
        stack: Stack, a_form: Any, capsys: pytest.CaptureFixture[str]) -> None:
    await COMMANDS["bootstrap-operator"](stack.settings("intake"))
    operator = json.loads(capsys.readouterr().out)
    async with stack.api("intake") as api:
        as_operator = await token(api, operator)
        created = await api.post("/clients", json={"role": "partner", "name": "national portal"},
                                 headers=as_operator)
        portal = created.json()
        as_portal = await token(api, portal)
        application = await api.post("/applications", json=a_form("P3"), headers=as_portal)
        revoked = await api.post(f"/clients/{portal['client_id']}/revoke", headers=as_operator)
        refused = await api.post("/oauth/token", data={"grant_type": "client_credentials"},
                                 auth=(portal["client_id"], portal["client_secret"]))
    assert created.status_code == 201, created.text
    assert application.status_code == 201, application.text
    assert application.json()["partner_id"] == portal["subject"]
    assert revoked.json()["revoked_at"] is not None
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
    hashes = [r["secret_hash"] for r in await stack.fetch("SELECT secret_hash FROM intake.client")]
    assert len(hashes) == 2 and all(h.startswith("scrypt$") for h in hashes)
    assert operator["client_secret"] not in hashes and portal["client_secret"] not in hashes


async def test_every_endpoint_but_the_token_endpoint_and_the_probes_refuses_a_request_without_a_token(
        stack: Stack) -> None:
    async with stack.api("intake") as api:
        spec = (await api.get("/openapi.json")).json()
        answers = {(method, path): await api.request(method, concrete(path), json={})
                   for path, operations in spec["paths"].items() for method in operations
                   if (path, method) not in UNAUTHENTICATED}
    assert len(answers) >= 16
    assert {key: r.status_code for key, r in answers.items()} == dict.fromkeys(answers, 401)
    assert all(r.json()["errors"] == [{"field": "Authorization", "reason": "missing"}] for r in answers.values())


@pytest.mark.parametrize("role", ["partner", "reviewer", "csp"])
@pytest.mark.parametrize("method,path", OPERATOR_ONLY)
async def test_an_operator_endpoint_refuses_every_other_role(stack: Stack, role: Role, method: str,
                                                             path: str) -> None:
    async with stack.api("intake") as api:
        response = await api.request(method, concrete(path), json={"role": "partner", "name": "x"},
                                     headers=bearer(role))
    assert response.status_code == 403, response.text
    assert await stack.count("intake.client") == 0


@pytest.mark.parametrize("role", ["operator", "reviewer", "csp"])
@pytest.mark.parametrize("method,path", PARTNER_ONLY)
async def test_a_partner_endpoint_refuses_every_other_role(stack: Stack, role: Role, method: str, path: str,
                                                           a_form: Any) -> None:
    async with stack.api("intake") as api:
        response = await api.request(method, concrete(path), json=a_form("P3"), headers=bearer(role))
    assert response.status_code == 403, response.text
    assert await stack.count("intake.application") == 0


@pytest.mark.parametrize("role", ["reviewer", "csp"])
async def test_the_applications_list_refuses_every_role_but_partners_and_operators(stack: Stack, role: Role) -> None:
    async with stack.api("intake") as api:
        response = await api.get("/applications", headers=bearer(role))
    assert response.status_code == 403, response.text


@pytest.mark.parametrize("issuer,reason", [
    (TokenIssuer(generate_keypair()[0], issuer="gpu-platform/intake", audience="gpu-platform"), "bad_signature"),
    (TokenIssuer(auth_settings().private_key_pem.get_secret_value(),  # type: ignore[union-attr]
                 issuer="gpu-platform/intake", audience="gpu-platform",
                 clock=lambda: datetime.now(UTC) - timedelta(hours=1)), "expired"),
    (TokenIssuer(auth_settings().private_key_pem.get_secret_value(),  # type: ignore[union-attr]
                 issuer="someone-else", audience="gpu-platform"), "wrong_issuer"),
], ids=["another-key", "expired", "another-issuer"])
async def test_a_forged_or_stale_token_is_refused_with_the_reason(stack: Stack, issuer: TokenIssuer,
                                                                  reason: str) -> None:
    forged = issuer.issue(Principal(client_id="forger", role="partner", partner_id=uuid.uuid4())).token
    async with stack.api("intake") as api:
        response = await api.get("/applications", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.json()["errors"] == [{"field": "Authorization", "reason": reason}]


def concrete(path: str) -> str:
    """A path template with a fresh id in every parameter."""
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)
