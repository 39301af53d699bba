"""A worker's health from its parts: alive while every part runs and turns, ready while none is failing."""
from __future__ import annotations

import time

from servicekit.liveness import WorkerHealth
from servicekit.settings import WorkerSettings


def health(**settings: float) -> WorkerHealth:
    return WorkerHealth(WorkerSettings(**settings))


def test_a_worker_with_no_parts_is_neither_alive_nor_ready() -> None:
    assert not health().alive()
    assert not health().ready()


def test_a_part_that_stopped_makes_the_worker_not_alive() -> None:
    worker = health()
    worker.enter("relay")
    worker.enter("consumer").running = False
    assert not worker.alive()
    assert worker.problems("alive") == ["consumer stopped"]


def test_a_part_whose_loop_has_not_turned_for_too_long_is_stalled() -> None:
    worker = health(stall_after_s=1.0)
    part = worker.enter("consumer")
    part.last_turn = time.monotonic() - 2.0
    assert not worker.alive()
    part.turned(next_within_s=5.0)  # a job that said it sleeps 5 s is not stalled after 2
    part.last_turn = time.monotonic() - 2.0
    assert worker.alive()


def test_a_part_failing_for_longer_than_the_stale_time_makes_the_worker_not_ready_but_still_alive() -> None:
    worker = health(stale_after_s=1.0)
    part = worker.enter("invoicing")
    part.failed(RuntimeError("boom"))
    assert worker.ready()  # one failed round is not yet a verdict
    part.failing_since = time.monotonic() - 2.0
    assert worker.alive()
    assert not worker.ready()
    assert not worker.working()
    assert "boom" in worker.problems()[0]
    part.turned()
    assert worker.ready()


def test_a_consumer_between_rebalances_is_working_but_not_ready() -> None:
    worker = health()
    worker.enter("consumer").ready = False
    assert worker.alive()
    assert worker.working()
    assert not worker.ready()
    assert worker.snapshot()["problems"] == ["consumer not ready"]


def test_two_parts_of_one_name_are_told_apart() -> None:
    worker = health()
    worker.enter("run")
    worker.enter("run").running = False
    assert worker.problems("alive") == ["run #2 stopped"]
