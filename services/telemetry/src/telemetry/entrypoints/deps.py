"""What telemetry's routes reach, as typed FastAPI dependencies: the bus for writes, the unit of work for reads, the
clock; and who may call what."""
from __future__ import annotations

from typing import Annotated, cast

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


async def calling_csp(caller: Annotated[Principal, Depends(require("csp"))]) -> str:
    """The CSP the token acts for: a CSP reports only as itself."""
    assert caller.csp is not None  # a CSP principal always carries one
    return caller.csp


async def operator_or_the_csp(csp: CspPath, caller: Annotated[Principal, Depends(require("operator", "csp"))]) -> str:
    """An operator, or the CSP named in the path itself; the CSP named."""
    if caller.role == "csp" and caller.csp != csp:
        raise Forbidden("a CSP manages only its own hosts")
    return csp


Policy = Annotated[PolicySettings, Depends(policy_of)]
CallingCsp = Annotated[str, Depends(calling_csp)]
OperatorOrTheCsp = Annotated[str, Depends(operator_or_the_csp)]
