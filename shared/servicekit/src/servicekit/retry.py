"""What counts as a passing infrastructure fault, and exponential backoff for retrying it."""
from __future__ import annotations

import asyncio
import random

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# the server going away or refusing connections: an outage, waited out however long it lasts
OUTAGE_SQLSTATES = {"57P01", "57P02", "57P03", "53300", "08000", "08001", "08003", "08004", "08006"}
# serialization failure, deadlock, exclusion-constraint race (two placements of one GPU): retried with fresh state
# (a bounded number of times by a consumer, since a conflict that never clears is the record's own)
TRANSIENT_SQLSTATES = {"40001", "40P01", "23P01", *OUTAGE_SQLSTATES}


def is_transient(exc: BaseException) -> bool:
    """A broker or database outage, a dropped connection, a serialization conflict, no pooled connection free in
    time: worth trying again."""
    return is_outage(exc) or is_overload(exc) or _sqlstate(exc) in TRANSIENT_SQLSTATES


def is_overload(exc: BaseException) -> bool:
    """Every pooled connection stayed taken for the pool's timeout: the process has more work than connections."""
    return isinstance(exc, PoolTimeout)


def is_outage(exc: BaseException) -> bool:
    """The broker or the database cannot be reached (or went away): nothing to do with the message at hand."""
    if isinstance(exc, InterfaceError | KafkaError | KafkaConnectionError | ConnectionError | OSError
                  | TimeoutError | asyncpg.PostgresConnectionError | asyncpg.InterfaceError
                  | asyncpg.CannotConnectNowError | asyncpg.TooManyConnectionsError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError) and _sqlstate(exc) is None:
        return True  # a driver-level failure without a server answer: the connection, not the statement
    return _sqlstate(exc) in OUTAGE_SQLSTATES


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    state = getattr(exc, "sqlstate", None) or getattr(orig, "sqlstate", None) \
        or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return str(state) if state else None


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
