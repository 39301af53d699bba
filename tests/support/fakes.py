"""The in-memory side of the fast tier: an outbox, an inbox and a unit of work that keep everything in lists and
dicts, so that a service layer runs in microseconds against what it relies on (servicekit.uow.UnitOfWork).

A service's fake unit of work subclasses FakeUnitOfWork and adds in-memory repositories that meet its ports. The
fakes record commits and publish events only on commit; the repositories' own state is not rolled back (a handler
that raises is expected to have changed nothing the test then reads; the integration tier proves the rollback).
"""
from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from contracts import Event
from servicekit.bus import Handlers, MessageBus, inject
from servicekit.clock import Clock


class FakeOutbox:
    def __init__(self) -> None:
        self.pending: list[Event] = []
        self.published: list[Event] = []

    async def add(self, event: Event) -> None:
        self.pending.append(event)

    def of_type(self, event_type: type[Event]) -> list[Any]:
        return [e for e in self.published if isinstance(e, event_type)]


class FakeInbox:
    def __init__(self) -> None:
        self.claimed: set[UUID] = set()

    async def claim(self, event_id: UUID, event_type: str = "") -> bool:
        if event_id in self.claimed:
            return False
        self.claimed.add(event_id)
        return True

    async def claim_many(self, messages: Sequence[tuple[UUID, str]]) -> set[UUID]:
        return {event_id for event_id, event_type in messages if await self.claim(event_id, event_type)}


class FakeUnitOfWork:
    """One shared instance plays every transaction of a test: entering it starts one, commit publishes its events,
    leaving without a commit drops them."""

    def __init__(self) -> None:
        self.outbox = FakeOutbox()
        self.inbox = FakeInbox()
        self.commits = 0

    async def __aenter__(self) -> Self:
        self.outbox.pending = []
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.outbox.pending = []

    async def commit(self) -> None:
        self.outbox.published.extend(self.outbox.pending)
        self.outbox.pending = []
        self.commits += 1

    @property
    def published(self) -> list[Event]:
        return self.outbox.published


def fake_bus(uow: FakeUnitOfWork, handlers: Handlers, *, clock: Clock, **dependencies: Any) -> MessageBus:
    """The service's own bus and handlers, wired to the fake: what runs is exactly what bootstrap wires."""
    return MessageBus(lambda: uow, inject(handlers, clock=clock, **dependencies))
