"""Intake's fixtures: a valid form of each program, partners' tokens, an open call, an offer of freed capacity, what
intake has stored and published, and a real HTTP server that receives webhooks."""
from __future__ import annotations

import asyncio
import copy
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn

from contracts import OfferMade
from intake.domain.forms import PROGRAM_ZONE
from intake.entrypoints.consumer import TRANSLATIONS
from support.auth import OPERATOR, bearer
from support.stack import Stack, eventually

INTAKE_TABLES = ("intake.application", "intake.application_status", "intake.outbox", "intake.idempotency_key",
                 "intake.webhook_delivery")

P1: dict[str, Any] = {
    "program": "P1",
    "applicant": {"name": "Kim Minji", "sector": "industry", "institution": "Haneul AI", "region": "Busan"},
    "company": {"business_registration_number": "1234567891", "size": "startup", "head_office_region": "Busan",
                "representative_birth_date": "1992-03-14"},
    "gpus_requested": 8, "gpu_model": "H100", "period_start": "2027-01-01", "period_end": "2027-06-30",
    "planned_gpu_hours_per_month": 3000, "purpose": "a Korean customer-service model",
    "training_data_scale": "200 GB of text",
}
P2: dict[str, Any] = {
    "program": "P2",
    "applicant": {"name": "Prof. Lee", "sector": "academia", "institution": "Chonnam National University",
                  "region": "Gwangju"},
    "researcher": {"institution_type": "university", "appointment_date": "2022-03-01", "birth_date": "1988-07-21"},
    "servers_requested": 2, "gpu_model": "H200", "period_start": "2027-01-01", "period_end": "2027-12-31",
    "planned_gpu_hours_per_month": 8000, "purpose": "protein structure foundation model", "open_source": True,
    "corporate_participants": [{"name": "BioCo", "size": "mid"}],
}
P3: dict[str, Any] = {
    "program": "P3",
    "applicant": {"name": "Dr. Kim", "sector": "academia", "institution": "KAIST", "region": "Daejeon"},
    "gpus_requested": 4, "gpu_model": "H100", "earliest_start": "2026-12-01", "acceptable_window_months": 3,
    "period_start": "2026-12-01", "period_end": "2027-02-28", "planned_gpu_hours_per_month": 2000,
    "purpose": "fine-tuning a Korean LLM",
}
FORMS = {"P1": P1, "P2": P2, "P3": P3}


def form(program: str, /, **overrides: Any) -> dict[str, Any]:
    """A valid form of the program; a None override removes the field."""
    body = copy.deepcopy(FORMS[program])
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture
def a_form() -> Callable[..., dict[str, Any]]:
    return form


@pytest.fixture
def partner_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def partner(partner_id: uuid.UUID) -> dict[str, str]:
    """The Authorization header of a client of the partner `partner_id`."""
    return bearer("partner", partner_id)


@pytest.fixture
def open_call() -> Callable[..., Awaitable[dict[str, Any]]]:
    """Opens a call through the operator API: by default a P1 round that opened an hour ago and runs a week."""

    async def opened(api: httpx.AsyncClient, program: str = "P1", **overrides: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        body = {"program": program, "title": f"{program} round", "opens_at": (now - timedelta(hours=1)).isoformat(),
                "closes_at": (now + timedelta(days=7)).isoformat(), **overrides}
        response = await api.post("/calls", json=body, headers=OPERATOR)
        assert response.status_code == 201, response.text
        return dict(response.json())

    return opened


@pytest.fixture
def make_offer(stack: Stack) -> Callable[..., Awaitable[OfferMade]]:
    """Allocation offers freed capacity to an application, run through intake's bus as its consumer would: by
    default 4 H100 GPUs from 1 December to 28 February, to be answered within three days."""

    async def offered(application_id: str, **overrides: Any) -> OfferMade:
        fields: dict[str, Any] = dict(
            application_id=uuid.UUID(application_id), offer_id=uuid.uuid4(), program="P3", gpu_model="H100",
            gpus=4, starts_at=datetime(2026, 12, 1, tzinfo=PROGRAM_ZONE),
            ends_at=datetime(2027, 3, 1, tzinfo=PROGRAM_ZONE),
            expires_at=datetime.now(UTC) + timedelta(days=3))
        event = OfferMade(**{**fields, **overrides})
        await stack.handle("intake", TRANSLATIONS[OfferMade](event))
        return event

    return offered


@pytest.fixture
def stored(stack: Stack) -> Callable[[], Awaitable[dict[str, int]]]:
    """How many rows each of intake's application tables, its outbox and its idempotency keys hold."""

    async def counts() -> dict[str, int]:
        return {table: await stack.count(table) for table in INTAKE_TABLES}

    return counts


@pytest.fixture
def outbox(stack: Stack) -> Callable[[], Awaitable[list[dict[str, Any]]]]:
    """The events intake has written to its outbox, oldest first: type and payload."""

    async def events() -> list[dict[str, Any]]:
        rows = await stack.fetch("SELECT type, payload FROM intake.outbox ORDER BY seq")
        return [{"type": r["type"], **json.loads(r["payload"])} for r in rows]

    return events


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


class Receiver:
    """A real HTTP server on 127.0.0.1 that records every request. `fail(path, n)` answers 500 to the next n
    requests on that path (n < 0: to all of them); every other request gets 200."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.port = 0
        self._failures: dict[str, int] = {}

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def fail(self, path: str, times: int) -> None:
        self._failures[path] = times

    def on(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        self.requests.append(Received(path, {k.decode().lower(): v.decode() for k, v in scope["headers"]}, body,
                                      time.time()))
        failures = self._failures.get(path, 0)
        if failures > 0:
            self._failures[path] = failures - 1
        await send({"type": "http.response.start", "status": 500 if failures else 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"failed" if failures else b"ok"})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = uvicorn.Server(uvicorn.Config(found, host="127.0.0.1", port=0, interface="asgi3", lifespan="off",
                                           log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, server.started), what="the receiver to listen")
    found.port = server.servers[0].sockets[0].getsockname()[1]
    yield found
    server.should_exit = True
    await asyncio.wait_for(task, timeout=10)
