"""The HTTP promises every API shares, on an app built by build_api over a real runtime (billing's, on the test's
database) with a few routes of its own; and the same promises on the real services."""
from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text

from servicekit.limits import body_limit
from servicekit.runtime import build_api, runtime_of
from servicekit.settings import DbSettings, HttpSettings
from support.auth import OPERATOR
from support.services import SERVICES
from support.stack import Stack

PROBLEM = "application/problem+json"
JSON = {"Content-Type": "application/json"}


class Note(BaseModel):
    text: str
    tags: dict[str, Any] = {}


def demo_routes(stored: list[str]) -> APIRouter:
    router = APIRouter()

    @router.post("/notes", status_code=201)
    async def add_note(note: Note) -> dict[str, str]:
        stored.append(note.text)
        return {"text": note.text}

    @router.post("/uploads", openapi_extra=body_limit(64_000))
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @router.get("/crash")
    async def crash() -> None:
        raise RuntimeError("password=hunter2 at db-7.internal")

    @router.get("/now")
    async def now(request: Request) -> dict[str, str]:
        async with runtime_of(request.app).engine.connect() as conn:
            return {"now": str((await conn.execute(text("SELECT now()"))).scalar_one())}

    @router.get("/slow")
    async def slow(request: Request) -> dict[str, str]:
        async with runtime_of(request.app).engine.connect() as conn:
            await conn.execute(text("SELECT pg_sleep(1.5)"))
        return {"slept": "1.5 s"}

    return router


@asynccontextmanager
async def demo_api(stack: Stack, stored: list[str], **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = stack.settings("billing", **overrides)
    app = build_api(lambda: SERVICES["billing"].bootstrap(settings), title="Demo", description="Limits.",
                    routers=[demo_routes(stored)], domain_errors={})
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client:
            yield client


def chunks(count: int, size: int, pulled: list[int]) -> Callable[[], AsyncIterator[bytes]]:
    async def stream() -> AsyncIterator[bytes]:
        for _ in range(count):
            pulled.append(size)
            yield b" " * size
    return stream


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_body_larger_than_the_cap_by_its_content_length_is_refused_413_and_stores_nothing(
        stack: Stack) -> None:
    stored: list[str] = []
    async with demo_api(stack, stored, http=HttpSettings(max_body_bytes=1_000)) as api:
        refused = await api.post("/notes", json={"text": "x" * 2_000})
        accepted = await api.post("/notes", json={"text": "short"})
    assert (refused.status_code, refused.headers["content-type"]) == (413, PROBLEM)
    assert refused.json()["errors"] == [{"field": "body", "reason": "larger than 1000 bytes, the most this "
                                                                    "endpoint takes"}]
    assert accepted.status_code == 201
    assert stored == ["short"]


async def test_a_streamed_body_without_content_length_is_cut_off_at_the_cap_without_being_read_whole(
        stack: Stack) -> None:
    stored: list[str] = []
    pulled: list[int] = []
    async with demo_api(stack, stored, http=HttpSettings(max_body_bytes=10_000)) as api:
        response = await api.post("/notes", content=chunks(100, 1_000, pulled)(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert (response.status_code, response.headers["content-type"]) == (413, PROBLEM)
    assert sum(pulled) <= 11_000  # the rest of the 100 kB was never asked for
    assert stored == []


async def test_a_route_s_own_cap_replaces_the_app_s(stack: Stack) -> None:
    async with demo_api(stack, [], http=HttpSettings(max_body_bytes=1_000)) as api:
        within = await api.post("/uploads", content=b"x" * 50_000)
        beyond = await api.post("/uploads", content=b"x" * 70_000)
    assert within.json() == {"bytes": 50_000}
    assert beyond.status_code == 413
    assert "64000 bytes" in beyond.json()["detail"]


async def test_json_nested_deeper_than_the_limit_is_refused_400_naming_the_body(stack: Stack) -> None:
    stored: list[str] = []
    deep = {"text": "deep", "tags": json.loads("[" * 40 + "]" * 40)}
    shallow = {"text": "shallow ]]]]", "tags": {"quote": 'a "[[[[[[" b', "list": [[1, [2]]]}}
    async with demo_api(stack, stored, http=HttpSettings(max_json_depth=8)) as api:
        refused = await api.post("/notes", content=json.dumps(deep), headers=JSON)
        accepted = await api.post("/notes", content=json.dumps(shallow), headers=JSON)
    assert (refused.status_code, refused.headers["content-type"]) == (400, PROBLEM)
    assert refused.json()["errors"] == [{"field": "body", "reason": "JSON nested deeper than 8 levels"}]
    assert accepted.status_code == 201, accepted.text
    assert stored == ["shallow ]]]]"]


async def test_a_malformed_json_body_is_a_400_problem_naming_the_body_and_changes_nothing(stack: Stack) -> None:
    async with stack.api("intake") as api:
        response = await api.post("/calls", content=b'{"program": "P1", "title": ', headers={**JSON, **OPERATOR})
    assert (response.status_code, response.headers["content-type"]) == (400, PROBLEM)
    [error] = response.json()["errors"]
    assert error["field"] == "body"
    assert "not valid JSON" in error["reason"]
    assert await stack.count("intake.call") == 0


async def test_an_unexpected_error_is_a_500_problem_with_an_error_id_in_the_logs_and_nothing_of_its_text(
        stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="servicekit.http"):
        async with demo_api(stack, []) as api:
            response = await api.get("/crash")
    body = response.json()
    assert (response.status_code, response.headers["content-type"]) == (500, PROBLEM)
    assert body["title"] == "Internal Server Error"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    [record] = [r for r in caplog.records if body["error_id"] in r.getMessage()]
    assert record.exc_info is not None and "hunter2" in str(record.exc_info[1])


async def test_a_database_outage_is_a_503_problem_with_retry_after(stack: Stack) -> None:
    unreachable = DbSettings(url=f"postgresql+asyncpg://platform:platform@127.0.0.1:{closed_port()}/gpuplatform")
    async with demo_api(stack, [], db=unreachable, http=HttpSettings(retry_after_s=7)) as api:
        down = await api.get("/now")
    async with demo_api(stack, []) as api:
        up = await api.get("/now")
    assert (down.status_code, down.headers["content-type"], down.headers["retry-after"]) == (503, PROBLEM, "7")
    assert "127.0.0.1" not in down.text
    assert up.status_code == 200


async def test_a_request_that_finds_no_pooled_connection_in_time_is_a_503_with_retry_after_not_a_500(
        stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    # one pooled connection and one more at need: two slow requests take both, a third waits out the pool's timeout
    small = DbSettings(url=stack.settings("billing").db.url, pool_size=1, pool_timeout_s=0.3)
    with caplog.at_level(logging.WARNING, logger="servicekit.http"):
        async with demo_api(stack, [], db=small, http=HttpSettings(retry_after_s=4)) as api:
            slow = [asyncio.create_task(api.get("/slow")) for _ in range(2)]
            await asyncio.sleep(0.5)  # both have their connection and sleep in PostgreSQL
            crowded = await api.get("/now")
            assert [(await s).status_code for s in slow] == [200, 200]
            freed = await api.get("/now")
    body = crowded.json()
    assert (crowded.status_code, crowded.headers["content-type"], crowded.headers["retry-after"]) == (
        503, PROBLEM, "4")
    assert "more requests than it can take" in body["detail"] and "QueuePool" not in crowded.text
    [record] = [r for r in caplog.records if body["error_id"] in r.getMessage()]
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert freed.status_code == 200


async def test_a_service_whose_database_is_down_answers_503_not_500(stack: Stack) -> None:
    unreachable = DbSettings(url=f"postgresql+asyncpg://platform:platform@127.0.0.1:{closed_port()}/gpuplatform")
    async with stack.api("telemetry", db=unreachable) as api:
        response = await api.get("/allocations/00000000-0000-0000-0000-000000000001/utilization",
                                 headers=OPERATOR)
    assert (response.status_code, response.headers["content-type"]) == (503, PROBLEM)
    assert int(response.headers["retry-after"]) >= 1


async def test_an_unknown_path_and_a_wrong_method_are_problems_too(stack: Stack) -> None:
    async with demo_api(stack, []) as api:
        missing = await api.get("/nowhere")
        wrong = await api.delete("/notes")
    assert (missing.status_code, missing.headers["content-type"]) == (404, PROBLEM)
    assert (wrong.status_code, wrong.headers["content-type"], wrong.headers["allow"]) == (405, PROBLEM, "POST")


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_every_service_documents_its_errors_as_problem_json(stack: Stack, service: str) -> None:
    async with stack.api(service) as api:
        spec = (await api.get("/openapi.json")).json()
    assert "Problem" in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if "health" in operation.get("tags", ()):
                continue
            responses = operation["responses"]
            assert {"500", "503"} <= set(responses), (path, method)
            if method.upper() in {"POST", "PUT", "PATCH", "DELETE"}:
                assert "429" in responses, (path, method)
            if "requestBody" in operation:
                assert {"400", "413", "422"} <= set(responses), (path, method)
            for status, response in responses.items():
                if status[0] in "45" and (path, status) not in {("/oauth/token", "400"), ("/oauth/token", "401")}:
                    assert list(response["content"]) == [PROBLEM], (path, method, status)

