"""Intake's POST /applications against a bare FastAPI endpoint doing one insert, in the same run."""
from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import text

from bench.common import KAFKA, Result, clock, repeat, scratch_database
from intake.config import Settings
from intake.entrypoints.api import create_app
from servicekit.auth import Principal, TokenIssuer, generate_keypair
from servicekit.db import make_engine
from servicekit.migrations import upgrade
from servicekit.settings import AuthSettings, DbSettings, KafkaSettings, RateLimitSettings

REQUESTS = 300
RUNS = 5
MIGRATIONS = __import__("pathlib").Path(__file__).resolve().parents[1] / "services" / "intake" / "migrations"
BODY = {
    "program": "P3",
    "applicant": {"name": "Bench Lab", "sector": "academia", "institution": "SNU", "region": "Seoul"},
    "gpus_requested": 8, "gpu_model": "H100", "earliest_start": "2026-12-01", "acceptable_window_months": 2,
    "period_start": "2026-12-01", "period_end": "2027-01-31", "planned_gpu_hours_per_month": 3000,
    "purpose": "benchmark",
}


class Row(BaseModel):
    program: str
    gpus_requested: int
    period_start: date
    period_end: date


def bare_app(url: str) -> FastAPI:
    # bare: without FastAPI's own tracing, which a tracer provider in the process (intake's) would turn on
    app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})
    engine = make_engine(DbSettings(url=url))

    @app.post("/applications", status_code=201)
    async def submit(body: Row) -> dict[str, Any]:
        row_id = uuid.uuid4()
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO bare (id, program, gpus) VALUES (:id, :p, :g)"),
                               {"id": row_id, "p": body.program, "g": body.gpus_requested})
        return {"id": str(row_id)}

    app.state.engine = engine
    return app


def partner_token(auth: AuthSettings) -> dict[str, str]:
    """A partner's access token, as a portal sends it: intake verifies it on every request (the bare app ignores it)."""
    principal = Principal(client_id="bench-portal", role="partner", partner_id=uuid.uuid4())
    return {"Authorization": f"Bearer {TokenIssuer.from_settings(auth).issue(principal).token}"}


async def requests_per_second(app: FastAPI, headers: dict[str, str]) -> float:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        start = clock()
        for _ in range(REQUESTS):
            response = await client.post("/applications", json=BODY, headers=headers)
            assert response.status_code == 201, response.text
        return REQUESTS / (clock() - start)


async def run() -> list[Result]:
    async with scratch_database() as url:
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        bare = bare_app(url)
        async with bare.state.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE bare (id uuid PRIMARY KEY, program text, gpus int)"))
        private_pem, public_pem = generate_keypair()
        auth = AuthSettings(private_key_pem=private_pem, public_keys_pem=[public_pem])
        # one partner sends every request: the per-client rate limit would measure itself, not the endpoint
        settings = Settings(db=DbSettings(url=url), kafka=KafkaSettings(bootstrap_servers=KAFKA), auth=auth,
                            rate_limit=RateLimitSettings(enabled=False))
        intake, headers = create_app(settings), partner_token(auth)
        async with intake.router.lifespan_context(intake):
            await requests_per_second(bare, headers)  # warm-up of both
            await requests_per_second(intake, headers)
            baseline = await repeat(RUNS, lambda: requests_per_second(bare, headers))
            measured = await repeat(RUNS, lambda: requests_per_second(intake, headers))
        await bare.state.engine.dispose()
    return [Result("bare FastAPI endpoint, one insert", "requests/s", baseline),
            Result("intake POST /applications", "requests/s", measured)]
