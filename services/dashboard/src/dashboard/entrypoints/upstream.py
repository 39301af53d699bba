"""The owning services' APIs, as the dashboard calls them for an operator: with the operator's own token.

The page never holds a token (it lives in an HttpOnly cookie) and never talks to another service: it asks the
dashboard, which forwards a short list of reads and actions (`READS`, `ACTIONS`) to the service that owns them and
answers with that service's own status and body, problem documents included.
"""
from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from dashboard.config import Settings, UpstreamSettings

UUID_RE = r"[0-9a-fA-F-]{36}"
REDRIVE = "dead-letters/redrive"
# (service, path) an operator's page may read through the dashboard
READS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((s, re.compile(p)) for s, p in (
    ("allocation", r"pools/P[123]/capacity(/daily)?"),
    ("allocation", r"waitlist"),
    ("allocation", r"allocations"),
    ("allocation", rf"allocations/{UUID_RE}"),
    ("allocation", r"csps"),
    ("telemetry", r"csps/[A-Za-z0-9._-]{1,100}/freshness"),
    ("telemetry", r"stale"),
    ("telemetry", rf"allocations/{UUID_RE}/ladder"),
    ("intake", r"calls"),
))
# (service, path) an operator's page may act on through the dashboard
ACTIONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((s, re.compile(p)) for s, p in (
    ("allocation", rf"allocations/{UUID_RE}/(reclaim|waive)"),
    ("intake", rf"calls/{UUID_RE}/close"),
    # a dead letter is re-driven by the service whose consumer parked it
    *((service, REDRIVE) for service in
      ("intake", "evaluation", "allocation", "telemetry", "billing", "dashboard")),
))
PASSED_HEADERS = ("content-type", "retry-after", "cache-control")


def allowed(table: tuple[tuple[str, re.Pattern[str]], ...], service: str, path: str) -> bool:
    return any(s == service and pattern.fullmatch(path) for s, pattern in table)


@dataclass
class Upstream:
    """One HTTP client for every owning service, for the app's lifetime."""

    settings: UpstreamSettings
    client: httpx.AsyncClient

    async def token(self, client_id: str, client_secret: str) -> httpx.Response:
        """The issuer's answer to the operator's credentials (OAuth2 client credentials, HTTP Basic)."""
        return await self.client.post(f"{self.settings.url_of('intake')}/oauth/token",
                                      data={"grant_type": "client_credentials"},
                                      auth=httpx.BasicAuth(client_id, client_secret))

    async def call(self, method: str, service: str, path: str, token: str, *,
                   params: Any = None, body: Any = None) -> Response:
        """The owning service's answer to the operator's call, passed on as it came."""
        url = self.settings.url_of(service)
        if url is None:
            raise KeyError(service)
        try:
            answer = await self.client.request(method, f"{url}/{path}", params=params, json=body,
                                               headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            return Response(_unreachable(service, exc), status_code=502, media_type="application/problem+json")
        headers = {k: v for k, v in answer.headers.items() if k.lower() in PASSED_HEADERS}
        return Response(answer.content, status_code=answer.status_code, headers=headers)


def _unreachable(service: str, exc: Exception) -> str:
    return json.dumps({"title": "Bad Gateway", "status": 502,
                       "detail": f"the {service} service did not answer ({type(exc).__name__})"})


def upstream_lifespan() -> APIRouter:
    """A router whose lifespan opens the client when the app starts and closes it when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = cast(Settings, app.state.settings).upstream
        async with httpx.AsyncClient(timeout=settings.timeout_s) as client:
            app.state.upstream = Upstream(settings, client)
            yield

    return APIRouter(lifespan=lifespan)


def upstream_of(request: Request) -> Upstream:
    return cast(Upstream, request.app.state.upstream)
