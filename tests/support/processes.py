"""Every service as real processes (`python -m <svc> api` and `worker`), for end-to-end tests."""
from __future__ import annotations

import asyncio
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
        for service, spec in SERVICES.items():
            port = free_port()
            env = {**os.environ, **spec.env(self.infra, self.database, self.topic_prefix, port), **self.extra_env}
            for role in ("worker", "api"):
                await self._spawn(service, role, env, log_dir / f"{service}-{role}.log")
            self.urls[service] = f"http://127.0.0.1:{port}"
        await asyncio.gather(*(self._wait_ready(s, u) for s, u in self.urls.items()))

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
