"""The operator API of allocations: who holds which GPUs when, reclaims and waivers of the reclaim ladder."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from allocation.domain import model
from allocation.domain.commands import ReclaimResource, WaiveReclaim
from allocation.domain.errors import AllocationNotFound
from allocation.entrypoints.deps import RESPONSES, Bus, Now, Uow
from allocation.entrypoints.schemas_allocations import AllocationOut, ReclaimIn
from servicekit.auth import OPERATOR_ONLY

allocations = APIRouter(tags=["allocations"], responses=RESPONSES, dependencies=[OPERATOR_ONLY])


def _allocation_out(item: model.Allocation) -> AllocationOut:
    return AllocationOut.model_validate({**vars(item), "slots": [vars(s) for s in item.slots]})


@allocations.get("/allocations", response_model=list[AllocationOut], summary="Allocations, latest period first")
async def list_allocations(uow: Uow, application_id: UUID | None = None, status: model.Status | None = None,
                           limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[AllocationOut]:
    found = await uow.allocations.find(application_id=application_id, status=status, limit=limit)
    return [_allocation_out(a) for a in found]


@allocations.get("/allocations/{allocation_id}", response_model=AllocationOut,
                 summary="One allocation with its GPUs and status")
async def get_allocation(allocation_id: UUID, uow: Uow) -> AllocationOut:
    found = await uow.allocations.get(allocation_id)
    if found is None:
        raise AllocationNotFound(str(allocation_id))
    return _allocation_out(found)


@allocations.post("/allocations/{allocation_id}/reclaim", response_model=AllocationOut,
                  summary="Reclaim an allocation's GPUs at once (misuse or operator decision)")
async def reclaim(allocation_id: UUID, body: ReclaimIn, bus: Bus, now: Now) -> AllocationOut:
    cmd = ReclaimResource(allocation_id=allocation_id, reason=body.reason, at=body.at or now())
    return _allocation_out(await bus.handle(cmd))


@allocations.post("/allocations/{allocation_id}/waive", response_model=AllocationOut,
                  summary="Waive the reclaim ladder: a reclaim for the warnings so far is not carried out",
                  description="A new low-utilization warning after the waiver re-arms the ladder.")
async def waive(allocation_id: UUID, bus: Bus, now: Now) -> AllocationOut:
    return _allocation_out(await bus.handle(WaiveReclaim(allocation_id=allocation_id, at=now())))
