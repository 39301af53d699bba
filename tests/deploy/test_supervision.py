"""The local stack's supervision: supervisord, configured by deploy/local/supervisor_config.py, restarts a killed
worker and gives up on a program that keeps dying at start instead of spinning."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.processes import LOG_ROOT
from support.stack import Stack, eventually
from support.supervision import Supervisord, config, service_programs

pytestmark = pytest.mark.e2e


@pytest.fixture
async def supervisord(request: pytest.FixtureRequest) -> AsyncIterator[Supervisord]:
    log_dir = LOG_ROOT / request.node.name
    log_dir.mkdir(parents=True, exist_ok=True)
    # a Unix socket path holds at most 108 bytes, which pytest's tmp_path can exceed
    with tempfile.TemporaryDirectory(prefix="sv-") as state_dir:
        daemon = Supervisord(Path(state_dir), log_dir)
        try:
            yield daemon
        finally:
            await daemon.stop()


def ready(url: str) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{url}/readyz", timeout=3)).status_code == 200
        except httpx.HTTPError:
            return False
    return probe


async def test_a_worker_killed_with_sigkill_is_started_again_and_its_api_is_ready_again(
        stack: Stack, supervisord: Supervisord) -> None:
    programs, api, (worker,) = service_programs(stack.infra, stack.database, stack.topic_prefix, "billing",
                                                supervisord.state_dir, supervisord.log_dir)
    await supervisord.start(programs)
    await eventually(ready(api), timeout=90, interval=0.5, what="billing api ready under supervisord")
    await eventually(ready(worker), timeout=60, interval=0.5, what="billing worker's readiness probe")
    running = await eventually(lambda: _in_state(supervisord, "billing-worker", "RUNNING"),
                               timeout=config.WORKER.startsecs + 30, what="billing worker RUNNING")
    os.kill(running["pid"], signal.SIGKILL)

    async def new_pid() -> int | None:
        pid = (await supervisord.process("billing-worker"))["pid"]
        return pid if pid not in (0, running["pid"]) else None

    await eventually(new_pid, timeout=10, interval=0.2, what="a new billing worker process")
    restarted = await eventually(lambda: _in_state(supervisord, "billing-worker", "RUNNING"),
                                 timeout=config.WORKER.startsecs + 15, what="the restarted worker staying up")
    assert restarted["pid"] != running["pid"]
    await eventually(ready(worker), timeout=60, interval=0.5, what="the restarted worker's readiness probe")
    await eventually(ready(api), timeout=60, interval=0.5, what="billing api ready again")


async def test_a_program_that_keeps_dying_at_start_backs_off_then_goes_fatal_instead_of_spinning(
        supervisord: Supervisord) -> None:
    starts = supervisord.state_dir / "starts"
    script = supervisord.state_dir / "crash.py"
    script.write_text("import sys\nwith open(sys.argv[1], 'a') as f:\n    f.write('start\\n')\nsys.exit(3)\n")
    crasher = config.Program("crasher", (sys.executable, str(script), str(starts)), {},
                             supervisord.log_dir / "crasher.log", config.WORKER)
    await supervisord.start([crasher])
    seen: set[str] = set()

    async def fatal() -> bool:
        state = (await supervisord.process("crasher"))["statename"]
        seen.add(state)
        return bool(state == "FATAL")

    retries = config.WORKER.startretries
    # the retries wait 1 s, 2 s, ... retries s; each start of the script takes well under 3 s
    await eventually(fatal, timeout=retries * (retries + 1) / 2 + 3 * (retries + 1) + 10, interval=0.2,
                     what="the crashing program to go FATAL")
    assert "BACKOFF" in seen
    await asyncio.sleep(3)
    assert (await supervisord.process("crasher"))["statename"] == "FATAL"
    assert len(starts.read_text().splitlines()) == retries + 1


async def _in_state(supervisord: Supervisord, name: str, state: str) -> dict[str, Any] | None:
    info = await supervisord.process(name)
    return info if info["statename"] == state else None
