"""The programs' cache (adapters/repository_calls.py): read once per PROGRAMS_FRESH_S, read again when stale or when
a code is not known; without a database (a session that counts its reads)."""
from __future__ import annotations

from collections import namedtuple
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from intake.adapters.repository_calls import PROGRAMS_FRESH_S, ProgramCache, ProgramRepository
from intake.domain.calls import IntakeMode, Program

ProgramRow = namedtuple("ProgramRow", "code name intake_mode")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Rows:
    def __init__(self, rows: list[ProgramRow]) -> None:
        self._rows = rows

    def all(self) -> list[ProgramRow]:
        return self._rows


class ProgramTable:
    """What the session reads from the program table; how many times it was read."""

    def __init__(self, *rows: ProgramRow) -> None:
        self.rows = list(rows)
        self.reads = 0

    async def execute(self, _statement: Any) -> Rows:
        self.reads += 1
        return Rows(list(self.rows))


def programs(table: ProgramTable, cache: ProgramCache) -> ProgramRepository:
    return ProgramRepository(cast(AsyncConnection, table), cache)


async def test_the_programs_are_read_once_while_fresh_and_shared_by_every_unit_of_work() -> None:
    clock = Clock()
    cache, table = ProgramCache(clock=clock), ProgramTable(ProgramRow("P3", "Government GPUs", "rolling"))
    assert await programs(table, cache).get("P3") == Program("P3", "Government GPUs", IntakeMode.ROLLING)
    clock.now += PROGRAMS_FRESH_S - 1
    assert await programs(table, cache).get("P3") == Program("P3", "Government GPUs", IntakeMode.ROLLING)
    assert table.reads == 1


async def test_a_stale_cache_reads_them_again_and_sees_a_change() -> None:
    clock = Clock()
    cache, table = ProgramCache(clock=clock), ProgramTable(ProgramRow("P1", "HPC support", "round"))
    await programs(table, cache).get("P1")
    table.rows = [ProgramRow("P1", "HPC support", "rolling")]  # an operator's change, on another replica
    clock.now += PROGRAMS_FRESH_S
    assert await programs(table, cache).get("P1") == Program("P1", "HPC support", IntakeMode.ROLLING)
    assert table.reads == 2


async def test_a_code_it_does_not_know_is_read_again_at_once() -> None:
    cache, table = ProgramCache(clock=Clock()), ProgramTable(ProgramRow("P1", "HPC support", "round"))
    await programs(table, cache).get("P1")
    assert await programs(table, cache).get("P3") is None
    table.rows.append(ProgramRow("P3", "Government GPUs", "rolling"))  # a release's migration adds it
    assert await programs(table, cache).get("P3") == Program("P3", "Government GPUs", IntakeMode.ROLLING)
    assert table.reads == 3


async def test_without_a_cache_every_get_reads() -> None:
    table = ProgramTable(ProgramRow("P2", "AI research", "round"))
    repository = ProgramRepository(cast(AsyncConnection, table))
    await repository.get("P2")
    await repository.get("P2")
    assert table.reads == 2
