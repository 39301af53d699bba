"""What counts as a passing infrastructure fault, and exponential backoff for retrying it."""
from __future__ import annotations

import asyncio
import random

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# serialization failure, deadlock, exclusion-constraint race (two placements of one GPU), server shutdown,
# too many connections: retried with fresh state, never dead-lettered
TRANSIENT_SQLSTATES = {"40001", "40P01", "23P01", "57P01", "57P02", "57P03", "53300"}


def is_transient(exc: BaseException) -> bool:
    """A broker or database outage, a dropped connection, a serialization conflict: retry, never dead-letter."""
    if isinstance(exc, OperationalError | InterfaceError | KafkaError | KafkaConnectionError
                  | ConnectionError | OSError | TimeoutError | asyncpg.PostgresConnectionError
                  | asyncpg.InterfaceError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(getattr(exc.orig, "__cause__", None),
                                                                  "sqlstate", None)
        return sqlstate in TRANSIENT_SQLSTATES
    return False


class Backoff:
    def __init__(self, *, first_s: float = 0.1, max_s: float = 5.0) -> None:
        self._first = first_s
        self._max = max_s
        self._next = first_s

    def reset(self) -> None:
        self._next = self._first

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self._max)
        return delay * random.uniform(0.8, 1.2)


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
