"""`python -m <service> api|worker|migrate|redrive`: the process roles of one code base, and the re-drive of
parked records."""
from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
import uvloop

from servicekit.logs import configure_logging
from servicekit.memory import settle_after_start
from servicekit.migrations import upgrade
from servicekit.redrive import redrive
from servicekit.retry import Backoff
from servicekit.runtime import prepare_topics
from servicekit.settings import ServiceSettings
from servicekit.worker import Worker, install_signal_handlers

log = logging.getLogger(__name__)
T = TypeVar("T")
S = TypeVar("S", bound=ServiceSettings)


def main(*, settings_class: type[ServiceSettings], create_app: Callable[[Any], Any],
         create_worker: Callable[[Any], Worker], migrations_dir: Path,
         commands: Mapping[str, Callable[[Any], Coroutine[Any, Any, object]]] | None = None,
         argv: list[str] | None = None) -> None:
    extra = dict(commands or {})
    parser = argparse.ArgumentParser(prog=settings_class.service_name)
    parser.add_argument("role", choices=["api", "worker", "migrate", "redrive", *extra])
    parser.add_argument("--limit", type=int, default=10_000, help="redrive: at most this many records")
    parser.add_argument("--dry-run", action="store_true", help="redrive: count, send nothing")
    args = parser.parse_args(argv)
    settings = named(settings_class(), args.role)
    configure_logging(settings_class.service_name, settings.log, role=args.role)
    if args.role == "api":
        app = create_app(settings)
        settle_after_start(settings.gc)
        uvicorn.run(app, host=settings.http.host, port=settings.http.port or settings.default_port,
                    loop="uvloop", http="httptools", log_level="warning", access_log=False,
                    log_config=None)  # uvicorn's lines in our format
    elif args.role == "worker":
        _run(_run_worker(settings, create_worker))
    elif args.role == "migrate":
        upgrade(migrations_dir, settings.db.url)
    elif args.role == "redrive":
        done = _run(redrive(settings, limit=args.limit, dry_run=args.dry_run))
        print(f"redrive: {done.sent} records {'to send' if args.dry_run else 'sent back'}, "
              f"{done.skipped} parked by other services left alone")
    else:
        _run(extra[args.role](settings))


def named(settings: S, role: str) -> S:
    """Unless told otherwise, the process names its database connections after its service and role
    (`intake-api`): pg_stat_activity and the server's log then say which process holds or opened each."""
    if not settings.db.application_name:
        settings.db.application_name = f"{settings.service_name}-{role}"[:63]
    return settings


def _run(main: Coroutine[Any, Any, T]) -> T:
    """On uvloop, as uvicorn runs the api."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


async def _run_worker(settings: ServiceSettings, create_worker: Callable[[Any], Worker]) -> None:
    backoff = Backoff(max_s=5.0)
    for attempt in range(60):
        try:
            await prepare_topics(settings)
            break
        except Exception as exc:
            log.warning("topics not ready (attempt %d): %s", attempt + 1, exc)
            await asyncio.sleep(backoff.next_delay())
    worker = create_worker(settings)
    settle_after_start(settings.gc)
    install_signal_handlers(worker.stop)
    await worker.run()
