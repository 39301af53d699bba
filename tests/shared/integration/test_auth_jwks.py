"""Intake publishes its keys (JWKS, RFC 8414 metadata) over real HTTP; services fetch them and follow rotations.

The real intake app is served by uvicorn on a free port; PyJWT's PyJWKClient, the client a partner would use, reads
its key set; billing, configured with nothing but the JWKS URL, stands for every other service.
"""
from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import jwt
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import create_async_engine

from servicekit.auth import AuthSettings, ClientStore, NewClient, credential_tables, generate_keypair, key_id
from servicekit.auth.keys import load_public_key
from servicekit.db import service_metadata
from support.auth import AUDIENCE, ISSUER, auth_settings, served
from support.infra import free_port
from support.services import SERVICES
from support.stack import Stack

JWKS, METADATA = "/.well-known/jwks.json", "/.well-known/oauth-authorization-server"


@asynccontextmanager
async def intake(stack: Stack, port: int, auth: AuthSettings | None = None) -> AsyncIterator[str]:
    """The real intake app, with the tests' keys unless others are given."""
    settings = stack.settings("intake", **({"auth": auth} if auth is not None else {}))
    async with served(SERVICES["intake"].create_app(settings), port) as url:
        yield url


async def operator_client(stack: Stack) -> NewClient:
    engine = create_async_engine(stack.infra.sqlalchemy_url(stack.database))
    try:
        return await ClientStore(engine, credential_tables(service_metadata("intake"))).create(
            role="operator", name="jwks tests")
    finally:
        await engine.dispose()


async def token_from(url: str, client: NewClient) -> str:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{url}/oauth/token", data={"grant_type": "client_credentials"},
                                   auth=(client.client.client_id, client.client_secret))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def rotated(old: AuthSettings) -> AuthSettings:
    """Intake after a rotation: a new signing key, the old public key still published for tokens in flight."""
    new_private, _ = generate_keypair()
    return old.model_copy(update={"private_key_pem": SecretStr(new_private)})


async def test_pyjwt_s_jwks_client_fetches_intake_s_keys_and_verifies_a_token_intake_issued(stack: Stack) -> None:
    async with intake(stack, free_port()) as url:
        token = await token_from(url, await operator_client(stack))
        client = jwt.PyJWKClient(f"{url}{JWKS}", cache_keys=False)
        signing_key = await asyncio.to_thread(client.get_signing_key_from_jwt, token)
    claims = jwt.decode(token, signing_key, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER)
    assert claims["role"] == "operator"
    assert signing_key.key_id == jwt.get_unverified_header(token)["kid"]
    assert signing_key.key_id == key_id(load_public_key(auth_settings().public_keys_pem[0]))


async def test_the_jwk_set_names_each_key_as_an_ed25519_signing_key_and_may_be_cached(stack: Stack) -> None:
    async with intake(stack, free_port()) as url, httpx.AsyncClient() as http:
        response = await http.get(f"{url}{JWKS}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jwk-set+json"
    assert response.headers["cache-control"] == "public, max-age=300"
    [jwk] = response.json()["keys"]
    assert {k: jwk[k] for k in ("kty", "crv", "use", "alg")} == {"kty": "OKP", "crv": "Ed25519", "use": "sig",
                                                                 "alg": "EdDSA"}
    assert "d" not in jwk  # the private part never leaves intake
    assert base64.urlsafe_b64decode(jwk["x"] + "=") == load_public_key(auth_settings().public_keys_pem[0]) \
        .public_bytes_raw()


async def test_the_rfc_8414_metadata_points_at_a_token_endpoint_and_a_key_set_that_work(stack: Stack) -> None:
    client = await operator_client(stack)
    async with intake(stack, free_port()) as url, httpx.AsyncClient() as http:
        found = await http.get(f"{url}{METADATA}")
        document = found.json()
        keys = await http.get(document["jwks_uri"])
        basic = await http.post(document["token_endpoint"], data={"grant_type": "client_credentials"},
                                auth=(client.client.client_id, client.client_secret))
        in_form = await http.post(document["token_endpoint"], data={
            "grant_type": "client_credentials", "client_id": client.client.client_id,
            "client_secret": client.client_secret})
    assert (found.status_code, found.headers["cache-control"]) == (200, "public, max-age=3600")
    assert document == {
        "issuer": ISSUER, "token_endpoint": f"{url}/oauth/token", "jwks_uri": f"{url}{JWKS}",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": []}
    assert [k["kid"] for k in keys.json()["keys"]] == [jwt.get_unverified_header(basic.json()["access_token"])["kid"]]
    assert (basic.status_code, in_form.status_code) == (200, 200)  # both advertised methods are real


async def test_a_service_configured_with_only_a_jwks_url_accepts_intake_s_tokens(stack: Stack) -> None:
    port = free_port()
    only_the_url = AuthSettings(jwks_url=f"http://127.0.0.1:{port}{JWKS}")
    async with intake(stack, port) as url:
        token = await token_from(url, await operator_client(stack))
        async with stack.api("billing", auth=only_the_url) as billing:
            accepted = await billing.get("/invoices", headers=bearer(token))
            forged = await billing.get("/invoices", headers=bearer(token[:-4] + "AAAA"))
    assert accepted.status_code == 200, accepted.text
    assert forged.status_code == 401


async def test_after_a_key_rotation_at_intake_a_service_accepts_new_tokens_without_a_configuration_change(
        stack: Stack) -> None:
    port = free_port()
    client = await operator_client(stack)
    billing_auth = AuthSettings(jwks_url=f"http://127.0.0.1:{port}{JWKS}", jwks_min_refetch_s=0.1)
    async with stack.api("billing", auth=billing_auth) as billing:
        async with intake(stack, port) as url:
            before = await token_from(url, client)
            await asyncio.sleep(0.15)  # billing tried at its start, before intake was up: past that interval
            assert (await billing.get("/invoices", headers=bearer(before))).status_code == 200
        async with intake(stack, port, rotated(auth_settings())) as url:
            after = await token_from(url, client)
            await asyncio.sleep(0.15)  # past the refetch interval of billing's start-up fetch
            new_key = await billing.get("/invoices", headers=bearer(after))
            old_key = await billing.get("/invoices", headers=bearer(before))
    assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]
    assert (new_key.status_code, old_key.status_code) == (200, 200), new_key.text


@pytest.mark.parametrize("service", ["intake", "billing"])
async def test_the_well_known_documents_are_intake_s_alone_and_need_no_token(stack: Stack, service: str) -> None:
    async with stack.api(service) as api:
        answers = [(await api.get(path)).status_code for path in (JWKS, METADATA)]
    assert answers == ([200, 200] if service == "intake" else [404, 404])
