"""The worker process role: the Kafka consumer and the outbox relay (and any periodic jobs), until SIGTERM."""
from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts import Event
from servicekit.bus import MessageBus
from servicekit.consumer import EventConsumer
from servicekit.relay import OutboxRelay
from servicekit.retry import is_transient, sleep_or_stop

log = logging.getLogger(__name__)
Translation = Callable[[Any], object | None]
Job = Callable[[asyncio.Event], Awaitable[None]]


def periodic(name: str, interval_s: float, action: Callable[[], Awaitable[int]]) -> Job:
    """A job that runs `action` every `interval_s` and logs how many things it did; an outage is waited out,
    anything else stops the worker."""

    async def job(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if done := await action():
                    log.info("%s: %d done", name, done)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("%s: %s; retrying in %ss", name, exc, interval_s)
            await sleep_or_stop(stop, interval_s)

    return job


def event_handlers(bus: MessageBus, translations: Mapping[type[Event], Translation]) -> dict[type[Event], Any]:
    """Turn the service's event → command map into consumer handlers that run each command through the bus."""

    def handler_for(translate: Translation) -> Callable[[Event], Awaitable[Any]]:
        async def handle(event: Event) -> Any:
            command = translate(event)
            if command is None:
                return None
            return await bus.handle(command, message_id=event.id, message_type=event.type)
        return handle

    return {event_type: handler_for(translate) for event_type, translate in translations.items()}


@dataclass
class Worker:
    relay: OutboxRelay
    consumer: EventConsumer | None = None
    jobs: list[Job] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._guard(self.relay.run))
            if self.consumer is not None:
                group.create_task(self._guard(self.consumer.run))
            for job in self.jobs:
                group.create_task(self._guard(job))

    async def _guard(self, part: Job) -> None:
        try:
            await part(self.stop)
        finally:
            self.stop.set()  # one part ending (or failing) ends the worker: a supervisor restarts it whole


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
