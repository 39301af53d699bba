"""The message bus: one message, one transaction (inbox claim + effects + outbox rows)."""
from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any
from uuid import UUID

from servicekit.uow import UnitOfWork

Handler = Callable[..., Awaitable[Any]]  # (command, uow, *named dependencies) → result
Handlers = Mapping[type, Handler]  # a service's table of contents: each command type → its handler
# (commands, uow) → None: before a batch's commands run one by one, what they will read, read at once
Prepare = Callable[[list[object], Any], Awaitable[None]]


def inject(handlers: Handlers, **dependencies: Any) -> dict[type, Handler]:
    """Bind each dependency a handler names among its parameters, so the bus can call every handler as (cmd, uow)."""

    def bind(handler: Handler) -> Handler:
        wanted = inspect.signature(handler).parameters
        given = {name: value for name, value in dependencies.items() if name in wanted}
        return functools.partial(handler, **given) if given else handler

    return {command: bind(handler) for command, handler in handlers.items()}


class MessageBus:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], handlers: Handlers) -> None:
        self._uow_factory = uow_factory
        self._handlers = dict(handlers)

    async def handle(self, cmd: object, *, message_id: UUID | None = None, message_type: str = "") -> Any:
        """Run the command's handler in a fresh transaction; a message id already claimed is skipped."""
        async with self._uow_factory() as uow:
            if message_id is not None and not await uow.inbox.claim(message_id, message_type):
                return None
            result = await self._handlers[type(cmd)](cmd, uow)
            await uow.commit()
        return result

    async def handle_many(self, messages: Sequence[tuple[UUID, str, object]],
                          combine: Callable[[list[object]], object]) -> Any:
        """Several messages in one transaction: every (id, type, command) is claimed at once, and the commands of
        the ids claimed now, in their order, are combined into one command for one handler. All or nothing."""
        async with self._uow_factory() as uow:
            fresh = [cmd for _, cmd in await self._claimed(uow, messages)]
            result = await self._handlers[type(combined := combine(fresh))](combined, uow) if fresh else None
            await uow.commit()
        return result

    async def handle_in_order(self, messages: Sequence[tuple[UUID, str, object]],
                              around: Callable[[int], AbstractContextManager[Any]] | None = None,
                              prepare: Prepare | None = None) -> int:
        """Several messages in one transaction: every (id, type, command) is claimed at once, then each command of
        an id claimed now runs through its own handler, in order, on the same unit of work (within `around(i)`, the
        i-th message's context, if given), after `prepare(commands, uow)` if given. All or nothing; how many ran."""
        async with self._uow_factory() as uow:
            fresh = await self._claimed(uow, messages)
            if prepare is not None and fresh:
                await prepare([cmd for _, cmd in fresh], uow)
            for index, cmd in fresh:
                with around(index) if around is not None else contextlib.nullcontext():
                    await self._handlers[type(cmd)](cmd, uow)
            await uow.commit()
        return len(fresh)

    @staticmethod
    async def _claimed(uow: UnitOfWork, messages: Sequence[tuple[UUID, str, object]]) -> list[tuple[int, object]]:
        """The (position, command) of each message whose id this transaction claimed, the first of an id delivered
        twice in the batch."""
        claimed = await uow.inbox.claim_many([(message_id, kind) for message_id, kind, _ in messages])
        fresh: list[tuple[int, object]] = []
        for index, (message_id, _, cmd) in enumerate(messages):
            if message_id in claimed:
                claimed.discard(message_id)
                fresh.append((index, cmd))
        return fresh
