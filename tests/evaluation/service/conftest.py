"""The service tier's fixtures: a clock the test moves, the in-memory unit of work, and evaluation's own bus and
handlers wired to them, as bootstrap wires them to the database."""
from __future__ import annotations

import pytest

from evaluation.domain.policy_bounds import ChangeRules
from evaluation.service.handlers import HANDLERS
from servicekit.bus import MessageBus
from support.clock import ManualClock
from support.fakes import fake_bus

from .fakes import FakeEvaluationUnitOfWork
from .samples import T0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def uow() -> FakeEvaluationUnitOfWork:
    return FakeEvaluationUnitOfWork()


@pytest.fixture
def bus(uow: FakeEvaluationUnitOfWork, clock: ManualClock) -> MessageBus:
    return fake_bus(uow, HANDLERS, clock=clock, change_rules=ChangeRules())
