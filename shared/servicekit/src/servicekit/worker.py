"""The worker process role: the Kafka consumer, the outbox relay and any periodic jobs, until SIGTERM.

No record and no failing round of a job stops it; a part that cannot go on (a bug outside any handler) ends the
whole worker with an error, so that its supervisor starts it afresh.
"""
from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import ConsumerRecord

from contracts import Event
from servicekit.bus import MessageBus, Prepare
from servicekit.consumer import BatchHandler, EventConsumer, handling
from servicekit.liveness import WorkerHealth, current_part
from servicekit.metrics import ProcessMetrics
from servicekit.relay import OutboxRelay
from servicekit.retry import is_transient, sleep_or_stop
from servicekit.settings import WorkerSettings
from servicekit.tracing import tracer

log = logging.getLogger(__name__)
Translation = Callable[[Any], object | None]  # an event → the service's command, or None to ignore it
Translations = Mapping[type[Event], Translation]  # a service's table of the events it consumes
Job = Callable[[asyncio.Event], Awaitable[None]]


def periodic(name: str, interval_s: float, action: Callable[[], Awaitable[int]]) -> Job:
    """A job that runs `action` every `interval_s` and logs how many things it did. A failing round is logged and
    tried again at the next interval (the worker's readiness says so while it lasts); it never stops the worker."""

    async def job(stop: asyncio.Event) -> None:
        part = current_part()
        while not stop.is_set():
            try:
                with tracer().start_as_current_span(f"periodic {name}"):  # the events of a round start a trace
                    if done := await action():
                        log.info("%s: %d done", name, done)
                part.turned(next_within_s=interval_s)
            except Exception as exc:
                part.failed(exc)
                if is_transient(exc):
                    log.warning("%s: %s; retrying in %ss", name, exc, interval_s)
                else:
                    log.exception("%s failed; retrying in %ss", name, interval_s)
            await sleep_or_stop(stop, interval_s)

    job.__qualname__ = job.__name__ = name
    return job


def event_handlers(bus: MessageBus, translations: Translations) -> dict[type[Event], Any]:
    """Turn the service's event → command map into consumer handlers that run each command through the bus."""

    def handler_for(translate: Translation) -> Callable[[Event], Awaitable[Any]]:
        async def handle(event: Event) -> Any:
            command = translate(event)
            if command is None:
                return None
            return await bus.handle(command, message_id=event.id, message_type=event.type)
        handle.__qualname__ = getattr(translate, "__qualname__", "handle")  # named on a parked record
        return handle

    return {event_type: handler_for(translate) for event_type, translate in translations.items()}


def batch_handler(bus: MessageBus, translations: Translations,
                  combine: Callable[[list[object]], object] | None = None, prepare: Prepare | None = None
                  ) -> BatchHandler:
    """Events handled in one transaction, every one claimed in the inbox at once: each translated, then the
    commands combined into one (the service's own batch command, with `combine`), else each run through its own
    handler in order, in the event's span and log context as when handled alone, after `prepare` has read at once
    what they will read (MessageBus.handle_in_order)."""

    async def handle(delivered: list[tuple[Event, ConsumerRecord]]) -> Any:
        kept = [(event, record, command) for event, record in delivered
                if (command := translations[type(event)](event)) is not None]
        messages = [(event.id, event.type, command) for event, _, command in kept]
        if not messages:
            return None
        if combine is not None:
            return await bus.handle_many(messages, combine)
        return await bus.handle_in_order(messages, around=lambda i: handling(kept[i][0], kept[i][1]), prepare=prepare)

    return handle


@dataclass
class Worker:
    relay: OutboxRelay
    consumer: EventConsumer | None = None
    jobs: list[Job] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    health: WorkerHealth = field(default_factory=lambda: WorkerHealth(WorkerSettings()))
    services: list[Job] = field(default_factory=list)  # the heartbeat and the probe: they serve the parts
    metrics: ProcessMetrics | None = None  # served on the probe port's /metrics

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._guard("relay", self.relay.run))
            if self.consumer is not None:
                group.create_task(self._guard("consumer", self.consumer.run))
            for job in self.jobs:
                group.create_task(self._guard(job.__name__, job))
            for service in self.services:
                group.create_task(self._serve(service))

    def state(self) -> dict[str, Any]:
        """Health and counters, for the probe and the heartbeat row."""
        state = {**self.health.snapshot(), "published": self.relay.published}
        if self.consumer is not None:
            state.update(processed=self.consumer.processed, dead_lettered=self.consumer.dead_lettered,
                         lag=self.consumer.lag)
        return state

    async def _guard(self, name: str, part: Job) -> None:
        status = self.health.enter(name)
        try:
            await part(self.stop)
        finally:
            status.running = False
            self.stop.set()  # one part ending (or failing) ends the worker: a supervisor restarts it whole

    async def _serve(self, service: Job) -> None:
        try:
            await service(self.stop)
        except Exception:  # a probe or heartbeat that breaks must not take the parts down with it
            log.exception("worker service %s failed", getattr(service, "__name__", service))


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
