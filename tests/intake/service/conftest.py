"""The service tier's fixtures: a clock the test moves, the in-memory unit of work, and intake's own bus and
handlers wired to them, as bootstrap wires them to the database."""
from __future__ import annotations

import pytest

from servicekit.bus import MessageBus
from support.clock import ManualClock

from .fakes import FakeIntakeUnitOfWork, intake_bus


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def uow() -> FakeIntakeUnitOfWork:
    return FakeIntakeUnitOfWork()


@pytest.fixture
def bus(uow: FakeIntakeUnitOfWork, clock: ManualClock) -> MessageBus:
    return intake_bus(uow, clock)
