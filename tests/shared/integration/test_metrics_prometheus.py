"""A real scraper we did not write: Debian's Prometheus scrapes a service's /metrics over HTTP, and its query API
answers with what it stored. Skipped where the binary is missing (`make tools` installs it)."""
from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from support.infra import free_port
from support.services import SERVICES
from support.stack import Stack, eventually

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="Debian's prometheus is installed by `make tools`")


@contextlib.asynccontextmanager
async def serving(app: Any, port: int) -> AsyncIterator[None]:
    """The ASGI app as a real HTTP server on 127.0.0.1:port, lifespan included, until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    try:
        await eventually(started, what=f"a server on port {port}")
        yield
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)


@contextlib.asynccontextmanager
async def prometheus(workdir: Path, *, target_port: int, port: int) -> AsyncIterator[Path]:
    """Prometheus scraping 127.0.0.1:target_port/metrics every second, its HTTP API on `port`; yields its log."""
    config = workdir / "prometheus.yml"
    config.write_text(f"""
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: intake
    static_configs:
      - targets: ["127.0.0.1:{target_port}"]
""")
    log = workdir / "prometheus.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            str(PROMETHEUS), f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", stdout=out, stderr=asyncio.subprocess.STDOUT)
        try:
            yield log
        finally:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=20)
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_prometheus_scrapes_a_services_metrics_and_answers_a_query_on_them(
        stack: Stack, tmp_path: Path) -> None:
    service_port, prometheus_port = free_port(), free_port()
    app = SERVICES["intake"].create_app(stack.settings("intake"))
    async with (serving(app, service_port),
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{service_port}") as client,
                prometheus(tmp_path, target_port=service_port, port=prometheus_port) as log,
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{prometheus_port}") as query_api):
        assert (await client.get("/healthz")).status_code == 200  # one request on a route of its own
        query = 'platform_http_requests_total{job="intake",route="/healthz",method="GET",status="2xx"}'

        async def answered() -> list[Any] | None:
            try:
                response = await query_api.get("/api/v1/query", params={"query": query})
            except httpx.TransportError:
                return None
            if response.status_code != 200:
                return None
            return response.json()["data"]["result"] or None

        try:
            result = await eventually(answered, timeout=60, what="Prometheus to scrape the service and answer")
        except AssertionError:
            print(log.read_text()[-4000:])
            raise
        up = (await query_api.get("/api/v1/query", params={"query": 'up{job="intake"}'})).json()["data"]["result"]
    assert float(result[0]["value"][1]) >= 1
    assert result[0]["metric"]["__name__"] == "platform_http_requests_total"
    assert [float(r["value"][1]) for r in up] == [1.0]
