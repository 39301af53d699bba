"""What allocation's routes reach, as typed FastAPI dependencies: the bus for writes, the unit of work for reads,
the clock, and the service's settings; and the problems every router documents."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from allocation.adapters.unit_of_work import SqlAllocationUnitOfWork
from allocation.config import Settings
from servicekit.auth import AUTH_RESPONSES
from servicekit.http import PROBLEM_RESPONSES
from servicekit.runtime import Bus as Bus
from servicekit.runtime import Now as Now
from servicekit.runtime import runtime_of, unit_of_work

RESPONSES = {**PROBLEM_RESPONSES, **AUTH_RESPONSES}


def settings_of(request: Request) -> Settings:
    settings = runtime_of(request.app).settings
    assert isinstance(settings, Settings)  # the app was built from allocation's settings (create_app)
    return settings


Uow = Annotated[SqlAllocationUnitOfWork, Depends(unit_of_work(SqlAllocationUnitOfWork))]
AllocationSettings = Annotated[Settings, Depends(settings_of)]
