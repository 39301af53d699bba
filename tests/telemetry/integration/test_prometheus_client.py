"""A real client we did not write: Debian's Prometheus scrapes an exposition in the DCGM exporter's format and
remote-writes it into the telemetry service, as a CSP's own Prometheus would with the block docs/telemetry.md gives:
with an access token as `credentials`, and with `oauth2` client credentials against intake's token endpoint, which
Prometheus renews by itself.

Telemetry (and intake, for the token endpoint) run as real HTTP servers (uvicorn) on the real database; Prometheus
runs as its own process.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from intake.domain.commands import RecordCsp
from support.auth import OPERATOR, bearer, csp_id, served
from support.infra import free_port
from support.prometheus import needs_prometheus, prometheus
from support.services import SERVICES
from support.stack import Stack, eventually
from telemetry.domain.commands import TrackAllocation
from telemetry.domain.model import Slot

pytestmark = needs_prometheus

HOST = "dgx-h100-017"  # the CSP's hostname, as dcgm-exporter labels it
SERVER = "p3-gov-17"  # the server's name in the inventory, which knows its GPUs by the UUIDs dcgm-exporter labels
MODEL = "NVIDIA H100 80GB HBM3"
BUSY = {0: 87.0, 1: 12.0}  # GPU index -> DCGM_FI_DEV_GPU_UTIL


def dcgm_exposition(host: str, busy: dict[int, float]) -> str:
    """What dcgm-exporter serves on :9400/metrics (its default counters, trimmed to the ones that matter here)."""
    lines = ["# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).", "# TYPE DCGM_FI_DEV_GPU_UTIL gauge"]
    for gpu, pct in busy.items():
        labels = (f'gpu="{gpu}",UUID="{gpu_uuid(gpu)}",device="nvidia{gpu}",modelName="{MODEL}",'
                  f'Hostname="{host}",DCGM_FI_DRIVER_VERSION="535.104.05"')
        lines.append(f"DCGM_FI_DEV_GPU_UTIL{{{labels}}} {pct:g}")
    lines += ["# HELP DCGM_FI_DEV_FB_USED Framebuffer memory used (in MiB).", "# TYPE DCGM_FI_DEV_FB_USED gauge"]
    lines += [f'DCGM_FI_DEV_FB_USED{{gpu="{gpu}",modelName="{MODEL}",Hostname="{host}"}} 40960' for gpu in busy]
    return "\n".join(lines) + "\n"


def gpu_uuid(gpu: int) -> str:
    return f"GPU-{uuid.UUID(int=gpu + 1)}"


def scraping_and_writing(scrape_port: int, write_url: str, auth: str) -> str:
    """Prometheus' configuration: the exposition scraped every second and remote-written as it comes (`auth`: the
    remote-write block's authorization, as YAML lines)."""
    return f"""
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: dcgm
    static_configs:
      - targets: ["127.0.0.1:{scrape_port}"]
remote_write:
  - url: {write_url}
{auth}
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 1s
"""


@pytest.mark.parametrize("auth", ["credentials", "oauth2"])
async def test_prometheus_remote_writes_dcgm_samples_that_count_for_the_allocation_holding_the_gpus(
        stack: Stack, tmp_path: Path, auth: str) -> None:
    now = datetime.now(UTC)
    held = TrackAllocation(allocation_id=uuid.uuid4(), application_id=uuid.uuid4(), program="P3", gpus=2,
                           starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=30),
                           planned_gpu_hours_per_month=730,
                           slots=tuple(Slot(server_name=SERVER, gpu_index=i, csp="gov", gpu_uuid=gpu_uuid(i),
                                            csp_id=csp_id("gov"))
                                       for i in BUSY))
    await stack.handle("telemetry", held)

    async def metrics(_: object) -> PlainTextResponse:
        return PlainTextResponse(dcgm_exposition(HOST, BUSY), media_type="text/plain; version=0.0.4")

    exporter = Starlette(routes=[Route("/metrics", metrics)])
    telemetry_port, exporter_port, intake_port = free_port(), free_port(), free_port()
    telemetry, intake = (SERVICES[name].create_app(stack.settings(name)) for name in ("telemetry", "intake"))
    write_url = f"http://127.0.0.1:{telemetry_port}/api/v1/write"
    async with (served(telemetry, telemetry_port), served(exporter, exporter_port), served(intake, intake_port),
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{telemetry_port}") as client):
        if auth == "credentials":  # an access token written into the file: a trial, it expires
            token = bearer("csp", csp_id("gov"))["Authorization"].removeprefix("Bearer ")
            block = f"    authorization:\n      credentials: {token}"
        else:  # the CSP's client: Prometheus gets its own tokens from intake, and new ones as they expire
            # the CSP as allocation announced it (CspRegistered): a CSP's client names it by its id
            await stack.handle("intake", RecordCsp(csp_id("gov"), "gov", now))
            created = await client.post(f"http://127.0.0.1:{intake_port}/clients", headers=OPERATOR,
                                        json={"role": "csp", "name": "gov's Prometheus", "subject": str(csp_id("gov"))})
            assert created.status_code == 201, created.text
            block = (f"    oauth2:\n      client_id: {created.json()['client_id']}\n"
                     f"      client_secret: {created.json()['client_secret']}\n"
                     f"      token_url: http://127.0.0.1:{intake_port}/oauth/token")
        async with prometheus(tmp_path, scraping_and_writing(exporter_port, write_url, block)) as log:
            async def counted() -> bool:
                response = await client.get(f"/allocations/{held.allocation_id}/utilization", headers=OPERATOR)
                assert response.status_code == 200, response.text
                return int(response.json()["samples_counted"]) >= 3 * len(BUSY)  # three scrapes at least

            try:
                await eventually(counted, timeout=60, what="Prometheus's samples to count for the allocation")
            except AssertionError:
                print(log.read_text()[-4000:])
                raise
    # stored under the inventory's server, found by the GPUs' UUIDs; the frame-buffer memory with each sample
    stored = await stack.fetch("SELECT gpu_index, utilization_pct, memory_used_mib FROM telemetry.sample "
                               "JOIN telemetry.gpu USING (gpu_id) WHERE server_name = $1", SERVER)
    assert {row["gpu_index"] for row in stored} == set(BUSY)
    assert {row["memory_used_mib"] for row in stored} == {40960.0}
    assert await stack.count("telemetry.gpu") == len(BUSY)  # nothing under the CSP's hostname
    assert all(row["utilization_pct"] == BUSY[row["gpu_index"]] for row in stored)
    async with stack.api("telemetry") as api:  # Prometheus stopped: what is stored is what counts
        utilization = (await api.get(f"/allocations/{held.allocation_id}/utilization", headers=OPERATOR)).json()
    assert utilization["samples_counted"] == len(stored)
    assert utilization["utilization_pct"] == pytest.approx(sum(r["utilization_pct"] for r in stored) / len(stored))
