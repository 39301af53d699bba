"""The issuer's published keys (its JWKS), fetched over HTTP and cached, so a key rotation needs no configuration.

Fetched at start and again after `ttl_s` in the background; a token naming an unknown key fetches them at once,
but at most every `min_refetch_s`, so that forged key ids cannot make a service hammer the issuer. While the
issuer is unreachable the keys fetched last stay in use.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from servicekit.auth.keys import jwk_public_key, key_id

log = logging.getLogger(__name__)
FETCH_TIMEOUT_S = 5.0


class JwksUnusable(ValueError):
    """The issuer answered, but not with a key set we can use: the keys fetched before stay."""


class RemoteKeys:
    """The keys of one JWKS URL, by `kid`. Only fetches mutate the cache, one at a time."""

    def __init__(self, url: str, *, ttl_s: float = 300, min_refetch_s: float = 10,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url, self.ttl_s, self.min_refetch_s = url, ttl_s, min_refetch_s
        self._transport, self._clock = transport, clock
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at: float | None = None
        self._tried_at: float | None = None
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[bool] | None = None

    @property
    def keys(self) -> Mapping[str, Ed25519PublicKey]:
        return self._keys

    async def start(self) -> bool:
        """The first fetch, and whether it worked: a service whose issuer is not up yet starts anyway (its
        tokens are refused meanwhile) and fetches again on the first token once the interval has passed."""
        return await self.refresh()

    async def ensure(self, kid: str) -> None:
        """Have the key `kid` if the issuer publishes it: known keys are used at once (a stale cache is
        refreshed in the background); an unknown one waits for a fetch, if one is allowed now."""
        if kid in self._keys:
            if self._stale() and self._may_try() and (self._background is None or self._background.done()):
                self._background = asyncio.create_task(self.refresh())
            return
        await self.refresh()

    async def refresh(self) -> bool:
        """Fetch the key set unless one was tried within `min_refetch_s`; whether the keys were replaced."""
        async with self._lock:
            if not self._may_try():
                return False
            self._tried_at = self._clock()
            try:
                self._keys = await self._download()
            except (httpx.HTTPError, JwksUnusable) as exc:
                log.warning("the issuer's keys at %s could not be fetched (%s); keeping the %d known",
                            self.url, exc, len(self._keys))
                return False
            self._fetched_at = self._tried_at
            return True

    def _may_try(self) -> bool:
        return self._tried_at is None or self._clock() - self._tried_at >= self.min_refetch_s

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self.ttl_s

    async def _download(self) -> dict[str, Ed25519PublicKey]:
        async with httpx.AsyncClient(transport=self._transport, timeout=FETCH_TIMEOUT_S) as client:
            response = await client.get(self.url, headers={"Accept": "application/jwk-set+json, application/json"})
            response.raise_for_status()
            try:
                document = response.json()
            except ValueError as exc:
                raise JwksUnusable("the answer is not JSON") from exc
        return parse_jwks(document)


def parse_jwks(document: Any) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 signing keys of an RFC 7517 key set, by `kid`; other keys are skipped, none at all is an error."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise JwksUnusable("not a JWK set: no 'keys' list")
    found: dict[str, Ed25519PublicKey] = {}
    for jwk in entries:
        key = jwk_public_key(jwk) if isinstance(jwk, dict) else None
        if key is not None:
            kid = jwk.get("kid")
            found[kid if isinstance(kid, str) and kid else key_id(key)] = key
    if not found:
        raise JwksUnusable("the key set holds no Ed25519 signing key")
    return found
