"""The CSPs' door (sample batches) and the view of an allocation's utilization, for operators and its CSPs."""
from __future__ import annotations

from typing import Annotated, Any, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Request

from servicekit.auth import AUTH_RESPONSES, Principal, authenticated, require
from servicekit.http import PROBLEM_RESPONSES, Problem
from servicekit.limits import body_limit
from servicekit.runtime import runtime_of
from telemetry.adapters.unit_of_work import SqlTelemetryUnitOfWork
from telemetry.config import NDJSON_BYTES_CEILING, Settings
from telemetry.domain.commands import RecordSamples
from telemetry.domain.errors import AllocationNotFound, SamplesFromTheFuture, ServersOfAnotherCsp
from telemetry.domain.model import Allocation, BatchReceipt
from telemetry.entrypoints.admission import ADMISSION_RESPONSES, ADMITTED
from telemetry.entrypoints.deps import Bus, Now, Uow, csp_of
from telemetry.entrypoints.metrics import count_receipt, count_refused
from telemetry.entrypoints.ndjson import read_samples
from telemetry.entrypoints.schemas import NDJSON, BatchOut, UtilizationOut
from telemetry.service.ladder import measure

router = APIRouter(responses={**PROBLEM_RESPONSES, **AUTH_RESPONSES}, dependencies=[Depends(authenticated)])
NDJSON_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {NDJSON: {"schema": {
    "type": "string", "description": 'One sample per line: {"server": "p3-gov-01", "gpu_index": 0, '
                                     '"ts": "2026-12-01T10:00:00Z", "utilization_pct": 12.5}'}}}}}
Csp = Annotated[Principal, Depends(require("csp"))]
OperatorOrCsp = Annotated[Principal, Depends(require("operator", "csp"))]


def _settings(request: Request) -> Settings:
    return cast(Settings, runtime_of(request.app).settings)


@router.post("/samples", status_code=202, response_model=BatchOut, tags=["samples"],
             summary="Report a batch of GPU utilization samples (NDJSON)",
             # the ceiling, over the app's default cap; each app's own is TELEMETRY_INGEST__NDJSON_MAX_BYTES
             # (admission.py); the reader bounds each line and the line count (policy settings) as it goes
             openapi_extra={**NDJSON_BODY, **body_limit(NDJSON_BYTES_CEILING)}, dependencies=[ADMITTED],
             responses={403: {"model": Problem, "description": "Not a CSP, or lines (each named) for servers "
                                                              "tracked as another CSP's: nothing is stored"},
                        413: {"model": Problem, "description": "More lines than a batch may hold, or more bytes "
                                                              "(TELEMETRY_INGEST__NDJSON_MAX_BYTES: by its "
                                                              "Content-Length before a byte is read)"},
                        415: {"model": Problem, "description": "Not application/x-ndjson"},
                        422: {"model": Problem, "description": "Bad lines, each named, among them lines dated "
                                                              "after the server's clock and its allowed skew: "
                                                              "nothing is stored"},
                        **ADMISSION_RESPONSES})
async def post_samples(request: Request, caller: Csp, bus: Bus, clock: Now) -> BatchOut:
    """A CSP's samples, stored all or nothing with their effects; a sample sent again is counted, not stored.

    A CSP reports only on its own servers: a server is known as a CSP's once an allocation on it is tracked (the
    CSP's id comes with the allocation, and the token names the CSP by that id, never by its name). Samples of a
    server no allocation has named yet have no known owner and are stored as they come. A sample dated more than
    the policy's clock skew after the server's clock is a bad line. Prometheus sends to POST /api/v1/write instead.
    """
    policy = _settings(request).policy
    samples, line_numbers = await read_samples(request, max_lines=policy.max_batch_lines,
                                               max_line_bytes=policy.max_line_bytes)
    cmd = RecordSamples(samples, csp_id=csp_of(caller), received_at=clock(), line_numbers=line_numbers)
    try:
        receipt: BatchReceipt = await bus.handle(cmd)
    except SamplesFromTheFuture as refused:  # the batch refused whole: the lines its answer names are counted
        count_refused(request.app, "ndjson", "refused_future", len(refused.lines))
        raise
    except ServersOfAnotherCsp as refused:
        count_refused(request.app, "ndjson", "refused_other_csp", len(refused.lines))
        raise
    count_receipt(request.app, "ndjson", receipt)
    return BatchOut(accepted=receipt.accepted, duplicates=receipt.duplicates, refused_late=receipt.refused_late,
                    allocations_evaluated=receipt.allocations_evaluated)


async def allocation_for(allocation_id: UUID, caller: Principal, uow: SqlTelemetryUnitOfWork) -> Allocation:
    """The allocation, for an operator or a CSP that hosts its GPUs; to any other CSP it does not exist."""
    allocation = await uow.allocations.get(allocation_id)
    if allocation is None or (caller.role == "csp" and not allocation.hosted_by(csp_of(caller))):
        raise AllocationNotFound(f"allocation {allocation_id} is not tracked")
    return allocation


@router.get("/allocations/{allocation_id}/utilization", response_model=UtilizationOut, tags=["allocations"],
            summary="An allocation's use against its plan, rule by rule, and where it stands on the reclaim ladder",
            description="For operators, and for a CSP that hosts the allocation's GPUs; to any other CSP the "
                        "allocation does not exist (404). Each warning rule switched on is shown over its window, "
                        "ending at the newest sample, with whether it has enough data to be judged.")
async def get_utilization(allocation_id: UUID, request: Request, caller: OperatorOrCsp, uow: Uow) -> UtilizationOut:
    policy = _settings(request).policy.ladder()
    allocation = await allocation_for(allocation_id, caller, uow)
    last = (await uow.usage.newest([allocation.id])).get(allocation.id)
    findings = []
    if last is not None:
        measured = (await measure([allocation], {allocation.id: last}, uow, policy))[allocation.id]
        findings = [allocation.finding(rule, m, policy)
                    for rule, m in zip(policy.rules_in_order, measured, strict=True)]
    return UtilizationOut.of(allocation, findings, last, policy)
