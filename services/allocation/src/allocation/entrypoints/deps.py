"""What allocation's routes reach, as typed FastAPI dependencies: the bus for writes, the unit of work for reads,
the clock, and the service's settings; and the problems every router documents."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from allocation.adapters.unit_of_work import SqlAllocationUnitOfWork
from allocation.config import Settings
from servicekit.auth import AUTH_RESPONSES
from servicekit.bus import MessageBus
from servicekit.clock import Clock
from servicekit.http import PROBLEM_RESPONSES
from servicekit.runtime import clock_of, message_bus, runtime_of, unit_of_work

RESPONSES = {**PROBLEM_RESPONSES, **AUTH_RESPONSES}


def settings_of(request: Request) -> Settings:
    settings = runtime_of(request.app).settings
    assert isinstance(settings, Settings)  # the app was built from allocation's settings (create_app)
    return settings


Bus = Annotated[MessageBus, Depends(message_bus)]
Now = Annotated[Clock, Depends(clock_of)]
Uow = Annotated[SqlAllocationUnitOfWork, Depends(unit_of_work(SqlAllocationUnitOfWork))]
AllocationSettings = Annotated[Settings, Depends(settings_of)]
