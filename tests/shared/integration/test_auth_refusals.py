"""What a 401 says: one of a fixed, documented set of reasons, and never the token library's own words.

PyJWT's message for each refused token is computed here by PyJWT itself, then looked for in our answer.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI

from servicekit.auth import (
    Principal,
    TokenAudienceInvalid,
    TokenExpired,
    TokenIssuer,
    TokenIssuerInvalid,
    TokenMalformed,
    TokenMissing,
    TokenNotYetValid,
    TokenSignatureInvalid,
    TokenVerifier,
    authenticated,
    generate_keypair,
    install_auth,
)
from servicekit.auth.keys import load_private_key, load_public_key
from servicekit.http import install_error_handlers

ISSUER, AUDIENCE = "gpu-platform/intake", "gpu-platform"
PRIVATE, PUBLIC = generate_keypair()
OPERATOR = Principal(client_id="ops", role="operator")
# the documented table of docs/auth.md: reason code -> the detail of the 401
FIXED = {error.reason: error.detail for error in (TokenMissing, TokenMalformed, TokenSignatureInvalid, TokenExpired,
                                                  TokenNotYetValid, TokenAudienceInvalid, TokenIssuerInvalid)}


def signed(claims: dict[str, Any], **headers: Any) -> str:
    return jwt.encode(claims, load_private_key(PRIVATE), algorithm="EdDSA", headers={"typ": "at+jwt", **headers})


def refused_tokens() -> dict[str, str]:
    good = TokenIssuer(PRIVATE, issuer=ISSUER, audience=AUDIENCE).issue(OPERATOR).token
    claims = jwt.decode(good, options={"verify_signature": False})
    header, payload, signature = good.split(".")
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    return {
        "garbage": "not-a-jwt",
        "garbage segments": "e30.e30.e30x",
        "undecodable header": "!!!.e30.sig",
        "tampered payload": f"{header}.{payload[:-2]}AA.{signature}",
        "a stranger's key": TokenIssuer(generate_keypair()[0], issuer=ISSUER, audience=AUDIENCE).issue(OPERATOR)
        .token,
        "expired": TokenIssuer(PRIVATE, issuer=ISSUER, audience=AUDIENCE, clock=lambda: an_hour_ago)
        .issue(OPERATOR).token,
        "from the future": signed({**claims, "iat": claims["iat"] + 3600, "exp": claims["exp"] + 3600}),
        "wrong audience": signed({**claims, "aud": "elsewhere"}),
        "wrong issuer": signed({**claims, "iss": "someone-else"}),
        "no jti": signed({k: v for k, v in claims.items() if k != "jti"}),
        "a string for exp": signed({**claims, "exp": "tomorrow"}),
        "an unknown role": signed({**claims, "role": "<script>admin</script>"}),
    }


def pyjwt_says(token: str) -> str:
    """PyJWT's own message when it decodes the token with our key and expectations."""
    try:
        jwt.decode(token, load_public_key(PUBLIC), algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER,
                   options={"require": ["iss", "aud", "sub", "exp", "iat", "jti"]})
    except jwt.InvalidTokenError as exc:
        return str(exc)
    return ""


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app, {})
    install_auth(app, TokenVerifier([PUBLIC], issuer=ISSUER, audience=AUDIENCE, leeway_s=5))

    @app.get("/whoami")
    async def whoami(caller: Annotated[Principal, Depends(authenticated)]) -> dict[str, str]:
        return {"client_id": caller.client_id}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield client


async def test_a_refused_token_gets_a_fixed_reason_and_none_of_pyjwt_s_words(api: httpx.AsyncClient) -> None:
    for name, token in refused_tokens().items():
        response = await api.get("/whoami", headers={"Authorization": f"Bearer {token}"})
        body, challenge = response.json(), response.headers["www-authenticate"]
        reason = body["errors"][0]["reason"]
        assert (response.status_code, body["detail"]) == (401, FIXED.get(reason)), (name, body)
        assert reason != "missing", name
        assert challenge == f'Bearer realm="gpu-platform", error="invalid_token", error_description="{reason}"'
        said = pyjwt_says(token)
        assert said == "" or (said not in response.text and said not in challenge), (name, said, body)
        assert "script" not in response.text  # nothing of the token is echoed either


async def test_pyjwt_refuses_those_tokens_with_messages_of_its_own(api: httpx.AsyncClient) -> None:
    # the test above is only worth something if PyJWT has words to leak
    said = {name: pyjwt_says(token) for name, token in refused_tokens().items()}
    assert sum(1 for message in said.values() if message) >= 8, said


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer  "}])
async def test_a_request_without_a_bearer_token_is_told_so_and_gets_a_bare_challenge(
        api: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await api.get("/whoami", headers=headers)
    assert (response.status_code, response.json()["detail"]) == (401, "missing bearer token")
    assert response.headers["www-authenticate"] == 'Bearer realm="gpu-platform"'  # RFC 6750 §3.1: no error code


async def test_each_reason_has_its_own_sentence() -> None:
    assert len(set(FIXED.values())) == len(FIXED) == 7
