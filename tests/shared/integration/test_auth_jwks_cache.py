"""A verifier's cache of the issuer's published keys, against a real HTTP server and a clock the tests move.

The issuer here is the kit's own discovery router on uvicorn, counting every fetch of its key set.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import jwt
import pytest
from fastapi import FastAPI, Request, Response

from servicekit.auth import (
    AuthSettings,
    Principal,
    TokenIssuer,
    TokenSignatureInvalid,
    TokenVerifier,
    discovery_router,
    generate_keypair,
)
from servicekit.auth.keys import load_private_key
from support.auth import served
from support.infra import free_port

ISSUER, AUDIENCE = "gpu-platform/intake", "gpu-platform"
JWKS = "/.well-known/jwks.json"
OPERATOR = Principal(client_id="ops", role="operator")
TTL_S, MIN_REFETCH_S = 300.0, 10.0


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Issuer:
    url: str
    issuer: TokenIssuer
    private_pem: str
    fetches: list[str]

    def token(self, **headers: str) -> str:
        """A token as the issuer signs it, or with these header members instead (say, a kid never published)."""
        token = self.issuer.issue(OPERATOR).token
        if not headers:
            return token
        claims = jwt.decode(token, options={"verify_signature": False})
        return jwt.encode(claims, load_private_key(self.private_pem), algorithm="EdDSA",
                          headers={"typ": "at+jwt", **headers})


def counting_app(token_issuer: TokenIssuer, settings: AuthSettings, fetches: list[str]) -> FastAPI:
    app = FastAPI()
    app.include_router(discovery_router(token_issuer, settings))

    @app.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        fetches.append(request.url.path)
        return await call_next(request)

    return app


@asynccontextmanager
async def issuer_at(port: int) -> AsyncIterator[Issuer]:
    private, _ = generate_keypair()
    token_issuer, fetches = TokenIssuer(private, issuer=ISSUER, audience=AUDIENCE), list[str]()
    async with served(counting_app(token_issuer, AuthSettings(private_key_pem=private), fetches), port) as url:
        yield Issuer(url, token_issuer, private, fetches)


def remote_verifier(url: str, clock: Clock) -> TokenVerifier:
    settings = AuthSettings(jwks_url=f"{url}{JWKS}", jwks_cache_ttl_s=TTL_S, jwks_min_refetch_s=MIN_REFETCH_S)
    return TokenVerifier.from_settings(settings, clock=clock)


@pytest.fixture
async def running() -> AsyncIterator[tuple[Issuer, TokenVerifier, Clock]]:
    clock = Clock()
    async with issuer_at(free_port()) as issuer:
        verifier = remote_verifier(issuer.url, clock)
        assert verifier.remote is not None
        await verifier.remote.start()
        yield issuer, verifier, clock


async def test_the_keys_are_fetched_once_at_start_and_not_per_token(
        running: tuple[Issuer, TokenVerifier, Clock]) -> None:
    issuer, verifier, _ = running
    for _ in range(5):
        assert (await verifier.authenticate(issuer.token())).role == "operator"
    assert issuer.fetches == [JWKS]


async def test_unknown_key_ids_fetch_the_keys_at_most_once_per_interval_and_are_never_accepted(
        running: tuple[Issuer, TokenVerifier, Clock]) -> None:
    issuer, verifier, clock = running

    async def refused(kid: str) -> None:
        with pytest.raises(TokenSignatureInvalid):
            await verifier.authenticate(issuer.token(kid=kid))

    for n in range(3):
        await refused(f"forged-{n}")  # within the interval of the start-up fetch: no fetch
    assert issuer.fetches == [JWKS]
    clock.now += MIN_REFETCH_S
    for n in range(3):
        await refused(f"forged-again-{n}")
    assert issuer.fetches == [JWKS, JWKS]


async def test_concurrent_tokens_with_unknown_key_ids_share_one_fetch(
        running: tuple[Issuer, TokenVerifier, Clock]) -> None:
    issuer, verifier, clock = running
    clock.now += MIN_REFETCH_S
    outcomes = await asyncio.gather(*(verifier.authenticate(issuer.token(kid=f"forged-{n}")) for n in range(10)),
                                    return_exceptions=True)
    assert all(isinstance(o, TokenSignatureInvalid) for o in outcomes)
    assert issuer.fetches == [JWKS, JWKS]


async def test_a_stale_cache_is_refreshed_in_the_background_while_its_keys_keep_working(
        running: tuple[Issuer, TokenVerifier, Clock]) -> None:
    issuer, verifier, clock = running
    clock.now += TTL_S
    assert (await verifier.authenticate(issuer.token())).role == "operator"
    await asyncio.sleep(0.2)
    assert issuer.fetches == [JWKS, JWKS]


async def test_while_the_issuer_is_unreachable_the_cached_keys_keep_serving() -> None:
    clock, port = Clock(), free_port()
    async with issuer_at(port) as issuer:
        verifier = remote_verifier(issuer.url, clock)
        assert verifier.remote is not None and await verifier.remote.start()
        token = issuer.token()
    clock.now += TTL_S + MIN_REFETCH_S  # stale, and a fetch is due: it fails, in the background
    assert (await verifier.authenticate(token)).role == "operator"
    await asyncio.sleep(0.2)
    assert (await verifier.authenticate(token)).role == "operator"
    with pytest.raises(TokenSignatureInvalid):
        await verifier.authenticate(issuer.token(kid="forged"))


async def test_a_service_that_starts_before_the_issuer_fetches_its_keys_on_the_first_token() -> None:
    clock, port = Clock(), free_port()
    verifier = remote_verifier(f"http://127.0.0.1:{port}", clock)
    assert verifier.remote is not None and not await verifier.remote.start()  # nobody listens yet
    async with issuer_at(port) as issuer:
        clock.now += MIN_REFETCH_S
        assert (await verifier.authenticate(issuer.token())).role == "operator"
    assert issuer.fetches == [JWKS]
