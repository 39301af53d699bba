"""Debian's Prometheus as a real process for the tests that prove compatibility with it (`make tools` installs it):
its configuration given as YAML, its HTTP API on a port of the test's choosing, its log kept for a failure."""
from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from support.infra import free_port

PROMETHEUS = shutil.which("prometheus")
needs_prometheus = pytest.mark.skipif(PROMETHEUS is None, reason="Debian's prometheus is installed by `make tools`")


@contextlib.asynccontextmanager
async def prometheus(workdir: Path, config: str, *, port: int | None = None) -> AsyncIterator[Path]:
    """Prometheus with `config` (prometheus.yml's text), its HTTP API on 127.0.0.1:`port` (any free one by default),
    until the block ends; yields its log."""
    assert PROMETHEUS is not None
    (workdir / "prometheus.yml").write_text(config)
    log = workdir / "prometheus.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            PROMETHEUS, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port or free_port()}", stdout=out, stderr=asyncio.subprocess.STDOUT)
        try:
            yield log
        finally:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=20)
            except TimeoutError:
                process.kill()
                await process.wait()
