"""The CSPs' door (sample batches) and the operators' view of an allocation's utilization."""
from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from fastapi import APIRouter, Request

from servicekit.http import PROBLEM_RESPONSES, Problem
from servicekit.runtime import runtime_of
from telemetry.adapters.unit_of_work import TelemetryUnitOfWork
from telemetry.config import Settings
from telemetry.domain.commands import RecordSamples
from telemetry.domain.errors import AllocationNotFound
from telemetry.domain.model import BatchReceipt
from telemetry.entrypoints.schemas import NDJSON, BatchOut, UtilizationOut, parse_batch, read_batch

router = APIRouter(responses=PROBLEM_RESPONSES)
NDJSON_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {NDJSON: {"schema": {
    "type": "string", "description": 'One sample per line: {"server": "p3-gov-01", "gpu_index": 0, '
                                     '"ts": "2026-12-01T10:00:00Z", "utilization_pct": 12.5}'}}}}}


def _settings(request: Request) -> Settings:
    return cast(Settings, runtime_of(request.app).settings)


@router.post("/samples", status_code=202, response_model=BatchOut, tags=["samples"],
             summary="Report a batch of GPU utilization samples (NDJSON)", openapi_extra=NDJSON_BODY,
             responses={413: {"model": Problem, "description": "More lines than a batch may hold"},
                        415: {"model": Problem, "description": "Not application/x-ndjson"}})
async def post_samples(request: Request) -> BatchOut:
    """A CSP's samples, stored all or nothing with their effects; a sample sent again is counted, not stored.

    Until per-CSP credentials land (a later issue), any caller may report on any server; Prometheus
    remote-write with the DCGM exporter's metric names comes later as well.
    """
    body = await read_batch(request, _settings(request).policy.max_batch_lines)
    receipt: BatchReceipt = await runtime_of(request.app).bus.handle(RecordSamples(parse_batch(body)))
    return BatchOut(accepted=receipt.accepted, duplicates=receipt.duplicates,
                    allocations_evaluated=receipt.allocations_evaluated)


@router.get("/allocations/{allocation_id}/utilization", response_model=UtilizationOut, tags=["allocations"],
            summary="An allocation's utilization against its plan, and where it stands on the reclaim ladder")
async def get_utilization(allocation_id: UUID, request: Request) -> UtilizationOut:
    policy = _settings(request).policy.ladder()
    uow: TelemetryUnitOfWork
    async with runtime_of(request.app).uow_factory() as uow:  # type: ignore[assignment]
        allocation = await uow.allocations.get(allocation_id)
        if allocation is None:
            raise AllocationNotFound(f"allocation {allocation_id} is not tracked")
        window = await uow.samples.window(allocation, days=policy.window_days)
    return UtilizationOut.of(allocation, window, policy)
