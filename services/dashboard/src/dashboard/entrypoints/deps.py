"""What the dashboard's routes reach, as typed FastAPI dependencies: the unit of work for reads."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dashboard.adapters.unit_of_work import SqlDashboardUnitOfWork
from servicekit.runtime import unit_of_work

Uow = Annotated[SqlDashboardUnitOfWork, Depends(unit_of_work(SqlDashboardUnitOfWork))]
