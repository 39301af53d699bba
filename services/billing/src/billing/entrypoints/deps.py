"""What billing's routes reach, as typed FastAPI dependencies: the bus for writes, the unit of work for reads."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from billing.adapters.unit_of_work import SqlBillingUnitOfWork
from servicekit.bus import MessageBus
from servicekit.runtime import message_bus, unit_of_work

Bus = Annotated[MessageBus, Depends(message_bus)]
Uow = Annotated[SqlBillingUnitOfWork, Depends(unit_of_work(SqlBillingUnitOfWork))]
