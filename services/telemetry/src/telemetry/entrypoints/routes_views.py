"""What operators and CSPs read of telemetry beyond one allocation's standing: its hourly series, its ladder with
every step and why, each CSP's freshness, and the allocations whose telemetry is stale."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from servicekit.auth import AUTH_RESPONSES, Principal, authenticated, require
from servicekit.bounds import Instant
from servicekit.http import PROBLEM_RESPONSES
from telemetry.domain.errors import BadRange
from telemetry.domain.model import hour_of
from telemetry.domain.rollups import allocation_figures
from telemetry.entrypoints.deps import Now, OperatorOrTheCsp, Policy, Uow, csp_of
from telemetry.entrypoints.routes import OperatorOrCsp, allocation_for
from telemetry.entrypoints.schemas import (
    FreshnessOut,
    HourlyOut,
    HourOut,
    LadderOut,
    ServerFreshnessOut,
    StaleOut,
    StepOut,
)

router = APIRouter(responses={**PROBLEM_RESPONSES, **AUTH_RESPONSES}, dependencies=[Depends(authenticated)])
MAX_SERIES_DAYS = 92
DEFAULT_SERIES_DAYS = 7


@router.get("/allocations/{allocation_id}/utilization/hourly", response_model=HourlyOut, tags=["allocations"],
            summary="An allocation's hourly series: reserved and busy GPU-hours, mean and p95 utilization, memory, "
                    "energy and coverage",
            description=f"Hours from `start` (by default {DEFAULT_SERIES_DAYS} days before `end`) to `end` (by "
                        f"default now), at most {MAX_SERIES_DAYS} days. For operators and the CSPs hosting it.")
async def hourly(allocation_id: UUID, caller: OperatorOrCsp, uow: Uow, policy: Policy, now: Now,
                 start: Annotated[Instant | None, Query()] = None,
                 end: Annotated[Instant | None, Query()] = None) -> HourlyOut:
    allocation = await allocation_for(allocation_id, caller, uow)
    end = end or now()
    start = start or end - timedelta(days=DEFAULT_SERIES_DAYS)
    if end <= start or end - start > timedelta(days=MAX_SERIES_DAYS):
        raise BadRange([("start", f"must be before end and at most {MAX_SERIES_DAYS} days before it")])
    rows = await uow.usage.hourly(allocation.id, hour_of(start), end)
    interval = policy.sample_interval_s
    return HourlyOut(allocation_id=allocation.id, start=hour_of(start), end=end,
                     hours=[HourOut.of(allocation_figures(allocation, row, interval)) for row in rows])


@router.get("/allocations/{allocation_id}/ladder", response_model=LadderOut, tags=["allocations"],
            summary="An allocation's reclaim ladder: every step (warning, recovery, reclaim, waiver, telemetry "
                    "alerts) with the rule and numbers that moved it")
async def ladder(allocation_id: UUID, caller: OperatorOrCsp, uow: Uow) -> LadderOut:
    allocation = await allocation_for(allocation_id, caller, uow)
    steps = [StepOut(limit=row.pop("limit_value"), **{k: v for k, v in row.items()
                                                      if k in StepOut.model_fields})
             for row in await uow.steps.of(allocation.id)]
    return LadderOut(allocation_id=allocation.id, ladder=allocation.ladder, steps=steps)


@router.get("/csps/{csp_id}/freshness", response_model=FreshnessOut, tags=["hosts"],
            summary="A CSP's telemetry freshness: the newest sample of each of its servers",
            description="For operators and the CSP itself. A server counts as the CSP's once it has reported as "
                        "it or an allocation tracked there names it.")
async def freshness(csp: OperatorOrTheCsp, uow: Uow, now: Now) -> FreshnessOut:
    at = now()
    return FreshnessOut(csp_id=csp, servers=[
        ServerFreshnessOut(server=f.server_name, gpus=f.gpus, last_sample_at=f.last_sample_at,
                           age_s=max(0.0, (at - f.last_sample_at).total_seconds()))
        for f in await uow.usage.freshness(csp)])


@router.get("/stale", response_model=list[StaleOut], tags=["allocations"],
            summary="Allocations whose telemetry is stale: not judged until enough samples arrive",
            description="Operators see all; a CSP sees those it hosts.")
async def stale(request: Request, caller: Annotated[Principal, Depends(require("operator", "csp"))],
                uow: Uow) -> list[StaleOut]:
    del request
    found = await uow.allocations.stale()
    return [StaleOut(allocation_id=a.id, application_id=a.application_id, csps=a.csps,
                     stale_since=cast(datetime, a.stale_since), reason=reason)
            for a, reason in found if caller.role == "operator" or a.hosted_by(csp_of(caller))]
