"""What billing's routes reach, as typed FastAPI dependencies: the bus for writes, the unit of work for reads."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from billing.adapters.unit_of_work import SqlBillingUnitOfWork
from servicekit.runtime import Bus as Bus
from servicekit.runtime import unit_of_work

Uow = Annotated[SqlBillingUnitOfWork, Depends(unit_of_work(SqlBillingUnitOfWork))]
