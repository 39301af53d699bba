"""Requests per client, by role: the token endpoint and every write, 429 with Retry-After past the allowance.

Counted in this process (GCRA, one number per client): each API replica counts on its own.
"""
from __future__ import annotations

import base64
import binascii
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import unquote_plus

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from servicekit.http import problem, retry_after, scope_header
from servicekit.settings import RateLimitSettings

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOKEN_PATH = "/oauth/token"


@dataclass(frozen=True)
class Rate:
    """`per_minute` on average, up to `burst` at once."""

    per_minute: int
    burst: int

    @classmethod
    def of(cls, settings: RateLimitSettings, name: str) -> Rate | None:
        """The rate settings give `name` (a role, or "token"), None for a name they do not know."""
        per_minute, burst = getattr(settings, f"{name}_per_minute", None), getattr(settings, f"{name}_burst", None)
        return cls(per_minute, burst) if isinstance(per_minute, int) and isinstance(burst, int) else None


class RateLimiter:
    """GCRA: a client's theoretical arrival time is all that is kept; O(1) a request, at most `max_clients` kept,
    the least recently admitted forgotten first (an idle one loses nothing: its allowance is whole again)."""

    def __init__(self, max_clients: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_clients = max_clients
        self._clock = clock
        self._arrivals: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._arrivals)

    def admit(self, key: str, rate: Rate) -> float:
        """0 if the request may go ahead (it is counted), else the seconds until it may."""
        now = self._clock()
        interval = 60.0 / rate.per_minute
        arrival = max(self._arrivals.get(key, now), now)
        allowed_at = arrival - (rate.burst - 1) * interval
        if now < allowed_at:
            return allowed_at - now
        self._arrivals[key] = arrival + interval
        self._arrivals.move_to_end(key)
        self._forget(now)
        return 0.0

    def _forget(self, now: float) -> None:
        for _ in range(2):  # two a request: idle clients leave faster than new ones come
            oldest, arrival = next(iter(self._arrivals.items()))
            if arrival > now:
                break
            del self._arrivals[oldest]
        while len(self._arrivals) > self._max_clients:
            self._arrivals.popitem(last=False)


def rate_limited(method: str, path: str) -> bool:
    """Whether a request is counted: every write, the token endpoint (a POST) among them."""
    return method in WRITES


class RateLimitMiddleware:
    """Before the route: the client is the access token's (verified with the app's verifier, as its route will),
    the token endpoint's caller is its HTTP Basic client_id, or else its remote address."""

    def __init__(self, app: ASGIApp, settings: Callable[[], RateLimitSettings]) -> None:
        self.app = app
        self._settings = settings
        self._limiter: RateLimiter | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = self._settings() if scope["type"] == "http" else None
        client = _client(scope, settings) if settings is not None and settings.enabled \
            and rate_limited(scope["method"], scope["path"]) else None
        if client is not None and settings is not None:
            if self._limiter is None:
                self._limiter = RateLimiter(settings.max_clients)
            key, rate = client
            wait_s = self._limiter.admit(key, rate)
            if wait_s:
                await _too_many(rate, wait_s)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _too_many(rate: Rate, wait_s: float) -> JSONResponse:
    detail = (f"more than {rate.per_minute} requests a minute (bursts of {rate.burst}) from this client; "
              "retry after the seconds in Retry-After")
    return problem(429, "Too Many Requests", detail, headers=retry_after(wait_s))


def _client(scope: Scope, settings: RateLimitSettings) -> tuple[str, Rate] | None:
    """The client's key and allowance; None for a write without a valid token, which its route refuses (401)
    at once: counting those by address would let one client behind a shared proxy lock out the others."""
    authorization = scope_header(scope, b"authorization")
    if scope["path"] == TOKEN_PATH:
        client_id = _basic_client_id(authorization)
        rate = Rate.of(settings, "token")
        return ((f"token:{client_id}" if client_id else f"token@{_address(scope)}"), rate) if rate else None
    principal = _principal(scope, authorization)
    rate = Rate.of(settings, principal.role) if principal is not None else None
    return (f"{principal.role}:{principal.client_id}", rate) if rate is not None else None


def _principal(scope: Scope, authorization: str | None) -> Any:
    state = getattr(scope.get("app"), "state", None)
    verifier = getattr(state, "auth_verifier", None)
    scheme, _sep, token = (authorization or "").partition(" ")
    session = getattr(state, "auth_session", None)
    if authorization is None and session is not None:  # a page's session counts as its operator
        scheme, token = "bearer", _cookie(scope, session.name)
    if scheme.lower() != "bearer" or not token.strip() or verifier is None:
        return None
    try:
        return verifier.verify(token.strip())
    except Exception:  # whatever the reason, the route's own authentication answers it (401)
        return None


def _cookie(scope: Scope, name: str) -> str:
    cookies = SimpleCookie()
    try:
        cookies.load(scope_header(scope, b"cookie") or "")
    except CookieError:
        return ""
    morsel = cookies.get(name)
    return morsel.value if morsel is not None else ""


def _basic_client_id(authorization: str | None) -> str | None:
    scheme, _sep, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, colon, _secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote_plus(client_id) if colon and client_id else None


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
