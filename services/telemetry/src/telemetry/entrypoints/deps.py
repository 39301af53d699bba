"""What telemetry's routes reach, as typed FastAPI dependencies: the bus for writes, the unit of work for reads, the
clock; and who may call what."""
from __future__ import annotations

from typing import Annotated, cast
from uuid import UUID

from fastapi import Depends, Request

from servicekit.auth import Forbidden, Principal, require
from servicekit.runtime import Bus as Bus
from servicekit.runtime import Now as Now
from servicekit.runtime import runtime_of, unit_of_work
from telemetry.adapters.unit_of_work import SqlTelemetryUnitOfWork
from telemetry.config import PolicySettings, Settings
from telemetry.entrypoints.schemas_hosts import CspPath

Uow = Annotated[SqlTelemetryUnitOfWork, Depends(unit_of_work(SqlTelemetryUnitOfWork))]


def policy_of(request: Request) -> PolicySettings:
    return cast(Settings, runtime_of(request.app).settings).policy


def csp_of(caller: Principal) -> UUID:
    """The id of the CSP a CSP's token acts for (the inventory's id, which intake checked when it issued it)."""
    assert caller.csp_id is not None  # a CSP principal always carries one
    return caller.csp_id


async def calling_csp(caller: Annotated[Principal, Depends(require("csp"))]) -> UUID:
    """The CSP the token acts for: a CSP reports only as itself."""
    return csp_of(caller)


async def operator_or_the_csp(csp_id: CspPath,
                              caller: Annotated[Principal, Depends(require("operator", "csp"))]) -> UUID:
    """An operator, or the CSP named by id in the path itself; the CSP's id."""
    if caller.role == "csp" and csp_of(caller) != csp_id:
        raise Forbidden("a CSP manages only its own hosts")
    return csp_id


Policy = Annotated[PolicySettings, Depends(policy_of)]
CallingCsp = Annotated[UUID, Depends(calling_csp)]
OperatorOrTheCsp = Annotated[UUID, Depends(operator_or_the_csp)]
