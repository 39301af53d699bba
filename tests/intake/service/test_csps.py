"""Intake keeps the CSPs allocation registered, which CSP clients are linked to by id."""
from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from contracts import CspRegistered
from intake.entrypoints.consumer import TRANSLATIONS
from support.clock import ManualClock

from .fakes import FakeIntakeUnitOfWork, intake_bus


async def test_a_registered_csp_is_known_by_its_id_and_an_announcement_heard_again_changes_only_its_name() -> None:
    clock = ManualClock()
    uow = FakeIntakeUnitOfWork()
    bus = intake_bus(uow, clock)
    announced = CspRegistered(csp_id=uuid4(), name="alpha-cloud", occurred_at=clock.now)
    await bus.handle(TRANSLATIONS[CspRegistered](announced))
    await bus.handle(TRANSLATIONS[CspRegistered](announced.model_copy(update={
        "name": "alpha", "occurred_at": clock.now + timedelta(days=1)})))
    assert uow.csps.by_id == {announced.csp_id: ("alpha", clock.now)}
    assert uow.published == []
