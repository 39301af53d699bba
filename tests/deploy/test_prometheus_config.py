"""The Prometheus configurations in deploy/prometheus: valid for Debian's promtool, and scraping what the stacks
run — the local stack's every api and worker probe port (deploy/local/supervisor_config.py), and in Docker Compose
every process whose /metrics another container can reach (docker-compose.yml). Skipped where promtool is missing
(`make tools` installs Debian's prometheus, which has it)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.infra import REPO
from support.supervision import config as supervisor_config

PROMTOOL = shutil.which("promtool")
CONFIGS = REPO / "deploy" / "prometheus"
LOCAL, COMPOSE = CONFIGS / "prometheus.yml", CONFIGS / "prometheus-compose.yml"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def jobs(path: Path) -> dict[str, list[str]]:
    """Each scrape job's targets, every one of them at /metrics."""
    scraped: dict[str, list[str]] = {}
    for job in yaml.safe_load(path.read_text())["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics", job["job_name"]
        assert job.get("scheme", "http") == "http", job["job_name"]
        scraped[job["job_name"]] = [t for static in job["static_configs"] for t in static["targets"]]
    return scraped


@pytest.mark.skipif(PROMTOOL is None, reason="promtool comes with Debian's prometheus (`make tools`)")
@pytest.mark.parametrize("path", [LOCAL, COMPOSE], ids=lambda p: p.name)
def test_promtool_finds_the_configuration_valid(path: Path) -> None:
    assert PROMTOOL is not None
    checked = subprocess.run([PROMTOOL, "check", "config", str(path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_local_configuration_scrapes_every_api_and_worker_of_the_local_stack() -> None:
    expected: dict[str, list[str]] = {}
    for program in supervisor_config.local_programs(python="python", local_dir=Path("/nowhere"), pg_port=15432,
                                                    kafka_port=19092):
        svc, role = program.name.rsplit("-", 1)
        port = program.environment[f"{svc.upper()}_{'HTTP__PORT' if role == 'api' else 'WORKER__HEALTH_PORT'}"]
        expected[program.name] = [f"127.0.0.1:{port}"]
    assert {name.rsplit("-", 1)[1] for name in expected} == {"api", "worker"}
    assert len(expected) == 2 * len(supervisor_config.SERVICES)
    assert jobs(LOCAL) == expected


def _reachable(name: str, service: dict[str, Any]) -> str | None:
    """Where another container reaches the process's /metrics (`host:port`), or None when nothing outside its own
    container can: an api on the container port it publishes, a worker on its probe port if it listens beyond
    loopback."""
    command, env = service.get("command") or [], service.get("environment") or {}
    if command[-1:] == ["api"]:
        [published] = service["ports"]
        return f"{name}:{str(published).rsplit(':', 1)[1]}"
    if command[-1:] == ["worker"]:
        prefix = f"{command[-2].upper()}_WORKER__"
        port, host = env.get(f"{prefix}HEALTH_PORT"), env.get(f"{prefix}HEALTH_HOST", "127.0.0.1")
        return f"{name}:{port}" if port not in (None, "0") and host not in LOOPBACK else None
    return None


def test_the_compose_configuration_scrapes_each_process_another_container_can_reach() -> None:
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    expected = {name: [target] for name, service in services.items()
                if (target := _reachable(name, service)) is not None}
    apis = {name for name, s in services.items() if (s.get("command") or [])[-1:] == ["api"]}
    assert apis == {f"{svc}-api" for svc in supervisor_config.SERVICES}  # every service's api is reachable
    assert jobs(COMPOSE) == expected
