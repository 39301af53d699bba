"""Access tokens for tests: one Ed25519 key pair per session, bearer headers for any role, an issuer over HTTP."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import httpx
import uvicorn

from servicekit.auth import Principal, Role, TokenIssuer, generate_keypair
from servicekit.settings import AuthSettings

ISSUER = "gpu-platform/intake"
AUDIENCE = "gpu-platform"


@cache
def auth_settings() -> AuthSettings:
    private_pem, public_pem = generate_keypair()
    # the longest lifetime allowed, so a token minted at collection time outlives the whole suite
    return AuthSettings(private_key_pem=private_pem, public_keys_pem=[public_pem], token_ttl_s=3600)


CSP_IDS = uuid.UUID("6d1c3b52-8f0e-4a7c-9b1d-2e5f4a3c7b90")  # the namespace of csp_id()


def csp_id(name: str) -> uuid.UUID:
    """The inventory id the tests give the CSP of this name: the same id for the same name, everywhere."""
    return uuid.uuid5(CSP_IDS, name)


def bearer(role: Role, subject: object | None = None, *, client_id: str | None = None) -> dict[str, str]:
    """An Authorization header for `role` (a partner or reviewer gets a fresh id unless one is given; a CSP is
    named by its id, `csp_id(name)`)."""
    if subject is None and role in ("partner", "reviewer"):
        subject = uuid.uuid4()
    if subject is None and role == "csp":
        subject = csp_id("test-csp")
    named = None if subject is None else str(subject)
    principal = Principal.of(client_id or f"{role}-{uuid.uuid4().hex[:8]}", role, named, ())
    token = TokenIssuer.from_settings(auth_settings()).issue(principal).token
    return {"Authorization": f"Bearer {token}"}


OPERATOR = bearer("operator", client_id="operator-tests")


def refused_tokens() -> dict[str, dict[str, str]]:
    """One refused Authorization header for each reason the verifier gives, keyed by that reason."""
    signing_key = auth_settings().private_key_pem
    assert signing_key is not None
    ours = signing_key.get_secret_value()
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)

    def token(issuer: TokenIssuer) -> dict[str, str]:
        return {"Authorization": f"Bearer {issuer.issue(Principal.of('tests', 'operator', None)).token}"}

    return {
        "missing": {"Authorization": "Basic b3BlcmF0b3I6c2VjcmV0"},
        "malformed": {"Authorization": "Bearer not-a-jwt"},
        "bad_signature": token(TokenIssuer(generate_keypair()[0], issuer=ISSUER, audience=AUDIENCE)),
        "expired": token(TokenIssuer(ours, issuer=ISSUER, audience=AUDIENCE, clock=lambda: an_hour_ago)),
        "wrong_audience": token(TokenIssuer(ours, issuer=ISSUER, audience="elsewhere")),
        "wrong_issuer": token(TokenIssuer(ours, issuer="someone-else", audience=AUDIENCE)),
    }


async def refusals(api: httpx.AsyncClient, calls: list[tuple[str, str, Any]],
                   headers: dict[str, str]) -> list[tuple[str, int, dict[str, Any]]]:
    """Each call's path, status and problem body, the WWW-Authenticate challenge added to the body."""
    found = []
    for method, path, body in calls:
        response = await api.request(method, path, json=body, headers=headers)
        found.append((path, response.status_code,
                      {**response.json(), "challenge": response.headers.get("WWW-Authenticate")}))
    return found


@asynccontextmanager
async def served(app: Any, port: int) -> AsyncIterator[str]:
    """The app (an issuer publishing its keys) behind a real uvicorn server on 127.0.0.1:port, lifespan included,
    for as long as the block runs: what a verifier or PyJWT's JWKS client fetches from is a real socket."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(400):  # uvicorn offers no event to await; it sets `started` once it listens
        if server.started or task.done():
            break
        await asyncio.sleep(0.025)
    assert server.started, f"uvicorn did not start on port {port}"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
