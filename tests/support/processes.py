"""Every service as real processes (`python -m <svc> api` and `worker`), for end-to-end tests."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from support.infra import REPO, Infra, free_port
from support.services import SERVICES

LOG_ROOT = REPO / ".local" / "logs" / "e2e"


@dataclass
class ServiceProcesses:
    infra: Infra
    database: str
    topic_prefix: str
    extra_env: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    _procs: list[tuple[str, asyncio.subprocess.Process]] = field(default_factory=list)

    async def start(self, name: str) -> None:
        log_dir = LOG_ROOT / name
        log_dir.mkdir(parents=True, exist_ok=True)
        ports: dict[str, int] = {}
        for service in SERVICES:
            port = free_port()
            while port in ports.values():  # each api its own port, even if the system hands one out twice in a row
                port = free_port()
            ports[service] = port
            self.urls[service] = f"http://127.0.0.1:{port}"
        # the dashboard's page signs in at intake and passes actions on to each service, over plain HTTP here
        upstreams = {f"DASHBOARD_UPSTREAM__{s.upper()}_URL": url for s, url in self.urls.items()}
        upstreams["DASHBOARD_SESSION__SECURE_COOKIE"] = "false"
        for service, spec in SERVICES.items():
            env = {**os.environ, **spec.env(self.infra, self.database, self.topic_prefix, ports[service]),
                   **upstreams, **self.extra_env}
            for role in ("worker", "api"):
                await self._spawn(service, role, env, log_dir / f"{service}-{role}.log")
        await asyncio.gather(*(self._wait_ready(s, u) for s, u in self.urls.items()))

    async def start_api(self, service: str, name: str, **env: str) -> str:
        """Only the service's api, with `env` on top of the test's settings, for tests that kill and restart it; its
        URL, on a fresh port each start."""
        log_dir = LOG_ROOT / name
        log_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        spec = SERVICES[service]
        await self._spawn(service, "api", {**os.environ, **spec.env(self.infra, self.database, self.topic_prefix,
                                                                      port), **self.extra_env, **env},
                          log_dir / f"{service}-api.log")
        self.urls[service] = f"http://127.0.0.1:{port}"
        await self._wait_alive(service, self.urls[service])
        return self.urls[service]

    async def _wait_alive(self, service: str, url: str) -> None:
        """Until the api answers /healthz: without its worker's heartbeat it is never ready, but it serves."""
        async with httpx.AsyncClient() as client:
            for _ in range(240):
                self.check_alive()
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{url}/healthz", timeout=2)).status_code == 200:
                        return
                await asyncio.sleep(0.25)
        raise AssertionError(f"{service} api at {url} never answered /healthz")

    async def exited(self, service: str, role: str = "api", timeout_s: float = 15.0) -> int:
        """Wait for the process to end of itself (a crash a test provoked); its exit code. It is forgotten, so the
        others are still checked alive and a restarted one can take its place."""
        name = f"{service}-{role}"
        proc = next(p for n, p in reversed(self._procs) if n == name)
        code = await asyncio.wait_for(proc.wait(), timeout=timeout_s)
        self._procs.remove((name, proc))
        return code

    async def _spawn(self, service: str, role: str, env: dict[str, str], log: Path) -> None:
        with log.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", service, role, env=env,
                                                        stdout=out, stderr=out, cwd=REPO)
        self._procs.append((f"{service}-{role}", proc))

    async def _wait_ready(self, service: str, url: str) -> None:
        async with httpx.AsyncClient() as client:
            for _ in range(240):
                self.check_alive()
                try:
                    if (await client.get(f"{url}/readyz", timeout=2)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.25)
        raise AssertionError(f"{service} api at {url} never became ready")

    def check_alive(self) -> None:
        dead = [name for name, proc in self._procs if proc.returncode is not None]
        if dead:
            raise AssertionError(f"service processes exited: {dead} (logs in {LOG_ROOT})")

    async def stop(self) -> None:
        for _, proc in self._procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc in self._procs:
            try:
                await asyncio.wait_for(proc.wait(), timeout=15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
