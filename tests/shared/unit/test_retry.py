"""Which faults are worth trying again: an outage is waited out; a transient fault is retried a bounded number of
times before the record is parked; anything else is the record's own."""
from __future__ import annotations

from sqlalchemy.exc import TimeoutError as PoolTimeout

from servicekit.retry import is_outage, is_overload, is_transient


def test_a_pool_that_had_no_connection_free_in_time_is_an_overload_retried_not_an_outage() -> None:
    crowded = PoolTimeout("QueuePool limit of size 5 overflow 5 reached, connection timed out, timeout 30.00")
    assert is_overload(crowded) and is_transient(crowded)
    assert not is_outage(crowded)  # the database answers: a record failing this way is tried a bounded number of times


def test_a_connection_refused_is_an_outage_and_a_plain_error_is_neither() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    assert is_outage(refused) and is_transient(refused) and not is_overload(refused)
    mistake = ValueError("a bug in a handler")
    assert not (is_outage(mistake) or is_transient(mistake) or is_overload(mistake))
