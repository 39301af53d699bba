"""A real scraper we did not write: Debian's Prometheus scrapes a service's /metrics over HTTP, and its query API
answers with what it stored. Skipped where the binary is missing (`make tools` installs it)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from support.auth import served
from support.infra import free_port
from support.prometheus import needs_prometheus, prometheus
from support.services import SERVICES
from support.stack import Stack, eventually

pytestmark = needs_prometheus


def scraping(target_port: int) -> str:
    """Prometheus' configuration: 127.0.0.1:target_port/metrics scraped every second, as job `intake`."""
    return f"""
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: intake
    static_configs:
      - targets: ["127.0.0.1:{target_port}"]
"""


async def test_prometheus_scrapes_a_services_metrics_and_answers_a_query_on_them(
        stack: Stack, tmp_path: Path) -> None:
    service_port, prometheus_port = free_port(), free_port()
    app = SERVICES["intake"].create_app(stack.settings("intake"))
    async with (served(app, service_port) as url, httpx.AsyncClient(base_url=url) as client,
                prometheus(tmp_path, scraping(service_port), port=prometheus_port) as log,
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
