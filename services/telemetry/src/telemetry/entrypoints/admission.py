"""Backpressure on the ingest path (POST /samples, POST /api/v1/write): a bounded number of requests in flight.

At most `TELEMETRY_INGEST__MAX_IN_FLIGHT` sample requests are worked on at once in this process, and at most
`TELEMETRY_INGEST__MAX_IN_FLIGHT_PER_CSP` of one CSP's. Nothing waits for a place: a request over either bound is
refused at once, before a byte of its body is read — 429 with Retry-After when its CSP already has its share in
flight (so that one CSP cannot starve the others), else 503 with Retry-After when the process is full (Prometheus
retries a 5xx on its own) — so what the gate keeps never grows with the load: two counts and one per CSP in flight.

A place is given back when the request ends, however it ends: answered, refused further on (413, 422...), failed,
or its client gone (the body's read raises, or the task is cancelled).

Each door's body has its cap from the settings (`TELEMETRY_INGEST__NDJSON_MAX_BYTES`,
`TELEMETRY_POLICY__REMOTE_WRITE_MAX_BYTES`): a Content-Length over it is refused (413) before the request takes a
place or a byte of its body is read, and a body sent without one is counted as it arrives and cut off at the cap.

One event loop per process, and no await between a check and its count: the gate needs no lock.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.http import Problem, answering_errors, http_problem, retry_after
from servicekit.limits import BodyTooLarge
from telemetry.config import IngestSettings, Settings
from telemetry.entrypoints.deps import CallingCsp

NDJSON_PATH = "/samples"
REMOTE_WRITE_PATH = "/api/v1/write"
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before sending the request again",
                                "schema": {"type": "integer", "minimum": 1}}}
# what the two doors declare besides their own refusals, for the OpenAPI document
ADMISSION_RESPONSES: dict[int | str, dict[str, Any]] = {
    429: {"model": Problem, "headers": _RETRY_AFTER,
          "description": "The CSP already has its share of sample requests in flight "
                         "(TELEMETRY_INGEST__MAX_IN_FLIGHT_PER_CSP), or is over its rate: send it again after "
                         "Retry-After"},
    503: {"model": Problem, "headers": _RETRY_AFTER,
          "description": "The service is working on as many sample requests as it takes at once "
                         "(TELEMETRY_INGEST__MAX_IN_FLIGHT), or a database or broker it needs is unreachable: "
                         "send it again after Retry-After"},
}


class IngestRefused(HTTPException):
    """A request the gate turned away: a problem document saying why, with Retry-After."""

    def __init__(self, status: int, detail: str, retry_after_s: int) -> None:
        super().__init__(status, detail, headers=retry_after(retry_after_s))


class OverCspShare(IngestRefused):
    def __init__(self, csp: str, held: int, retry_after_s: int) -> None:
        super().__init__(429, f"{csp} already has {held} sample requests in flight, the most one CSP may have at "
                              f"once: send this one again after {retry_after_s} s", retry_after_s)


class Saturated(IngestRefused):
    def __init__(self, held: int, retry_after_s: int) -> None:
        super().__init__(503, f"telemetry is working on {held} sample requests, the most it takes at once: send "
                              f"this one again after {retry_after_s} s", retry_after_s)


@dataclass
class Rejections:
    """What the gate turned away since the app started (app.state.ingest_gate.rejections), for metrics."""

    saturated: int = 0  # 503: the process was full
    over_csp_share: Counter[str] = field(default_factory=Counter)  # 429, by CSP: it had its share in flight

    @property
    def total(self) -> int:
        return self.saturated + self.over_csp_share.total()


class AdmissionGate:
    """Places for requests in flight: `max_in_flight` in all, `max_in_flight_per_csp` of them for one CSP."""

    def __init__(self, *, max_in_flight: int, max_in_flight_per_csp: int, retry_after_s: int) -> None:
        if min(max_in_flight, max_in_flight_per_csp, retry_after_s) < 1:
            raise ValueError("the gate's bounds and its Retry-After are 1 or more")
        self.max_in_flight = max_in_flight
        self.max_in_flight_per_csp = max_in_flight_per_csp
        self.retry_after_s = retry_after_s
        self.rejections = Rejections()
        self._in_flight = 0
        self._by_csp: dict[str, int] = {}  # only CSPs with a request in flight: at most max_in_flight entries

    @classmethod
    def of(cls, settings: IngestSettings) -> AdmissionGate:
        return cls(max_in_flight=settings.max_in_flight, max_in_flight_per_csp=settings.max_in_flight_per_csp,
                   retry_after_s=settings.retry_after_s)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def in_flight_of(self, csp: str) -> int:
        return self._by_csp.get(csp, 0)

    @asynccontextmanager
    async def admit(self, csp: str) -> AsyncIterator[None]:
        """A place for the block, given back when it ends however it ends; refused at once if there is none:
        OverCspShare (429) when the CSP has its share in flight, else Saturated (503) when all places are taken."""
        self._take(csp)
        try:
            yield
        finally:
            self._give_back(csp)

    def _take(self, csp: str) -> None:
        held = self._by_csp.get(csp, 0)
        if held >= self.max_in_flight_per_csp:
            self.rejections.over_csp_share[csp] += 1
            raise OverCspShare(csp, held, self.retry_after_s)
        if self._in_flight >= self.max_in_flight:
            self.rejections.saturated += 1
            raise Saturated(self._in_flight, self.retry_after_s)
        self._by_csp[csp] = held + 1
        self._in_flight += 1

    def _give_back(self, csp: str) -> None:
        self._in_flight -= 1
        left = self._by_csp[csp] - 1
        if left:
            self._by_csp[csp] = left
        else:
            del self._by_csp[csp]


def gate_of(app: FastAPI) -> AdmissionGate:
    gate: AdmissionGate = app.state.ingest_gate
    return gate


def install_admission(app: FastAPI, settings: Settings) -> AdmissionGate:
    """The gate on app.state, and each door's body cap from this app's settings (the routes, shared by every app
    built from them, declare only the ceiling servicekit's body limit holds them to)."""
    gate = app.state.ingest_gate = AdmissionGate.of(settings.ingest)
    caps = app.state.ingest_body_caps = {NDJSON_PATH: settings.ingest.ndjson_max_bytes,
                                         REMOTE_WRITE_PATH: settings.policy.remote_write_max_bytes}
    app.add_middleware(IngestBodyCaps, caps=caps)
    return gate


class IngestBodyCaps:
    """A POST to a capped path has its body counted as it arrives and cut off past the cap (413), never buffered;
    a Content-Length over it is refused by the route's admission before a byte is read."""

    def __init__(self, app: ASGIApp, caps: Mapping[str, int]) -> None:
        self.app = app
        self._caps = dict(caps)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cap = self._caps.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if cap is None:
            await self.app(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge(cap)
            return message

        # raised in the route that reads the body, whose handlers answer it; answered here if it escapes them
        await answering_errors(self.app, scope, counted, send,
                               lambda exc: http_problem(exc) if isinstance(exc, BodyTooLarge) else None)


async def admitted(request: Request, csp: CallingCsp) -> AsyncIterator[None]:
    """A place at the gate for the rest of the request; a body declared over its door's cap is refused first
    (413), and takes no place."""
    cap = request.app.state.ingest_body_caps.get(request.scope["path"])
    declared = request.headers.get("content-length", "").strip()
    if cap is not None and declared.isdigit() and int(declared) > cap:
        raise BodyTooLarge(cap)
    async with gate_of(request.app).admit(str(csp)):
        yield


# on each ingest route: `dependencies=[ADMITTED]`
ADMITTED = Depends(admitted)
