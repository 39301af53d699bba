"""The operator API: the GPU inventory and its capacity, allocations, operator reclaims and the waitlist.

Every route wants an access token; all are operator-only but a pool's capacity, which any role may read.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime

from allocation.adapters.unit_of_work import AllocationUnitOfWork
from allocation.domain import model
from allocation.domain.commands import ReclaimResource, RegisterCsp, RegisterServer
from allocation.domain.errors import AllocationNotFound
from allocation.entrypoints.schemas import (
    AllocationOut,
    CapacityOut,
    CspIn,
    CspOut,
    Pool,
    ReclaimIn,
    ServerIn,
    ServerOut,
    WaitlistOut,
)
from servicekit.auth import AUTH_RESPONSES, authenticated, require
from servicekit.http import PROBLEM_RESPONSES
from servicekit.runtime import runtime_of

RESPONSES = {**PROBLEM_RESPONSES, **AUTH_RESPONSES}
OPERATOR_ONLY = [Depends(require("operator"))]
inventory = APIRouter(tags=["inventory"], responses=RESPONSES, dependencies=[Depends(authenticated)])
allocations = APIRouter(tags=["allocations"], responses=RESPONSES, dependencies=OPERATOR_ONLY)


def _uow(request: Request) -> AllocationUnitOfWork:
    return runtime_of(request.app).uow_factory()  # type: ignore[return-value]


async def _handle(request: Request, cmd: object) -> Any:
    return await runtime_of(request.app).bus.handle(cmd)


def _allocation_out(item: model.Allocation) -> AllocationOut:
    return AllocationOut.model_validate({**vars(item), "slots": [vars(s) for s in item.slots]})


@inventory.post("/csps", status_code=201, response_model=CspOut, dependencies=OPERATOR_ONLY,
                summary="Register a cloud service provider")
async def register_csp(body: CspIn, request: Request) -> CspOut:
    return CspOut.model_validate(vars(await _handle(request, RegisterCsp(name=body.name))))


@inventory.get("/csps", response_model=list[CspOut], dependencies=OPERATOR_ONLY, summary="Every CSP, by name")
async def list_csps(request: Request) -> list[CspOut]:
    async with _uow(request) as uow:
        return [CspOut.model_validate(vars(c)) for c in await uow.inventory.csps()]


@inventory.post("/servers", status_code=201, response_model=ServerOut, dependencies=OPERATOR_ONLY,
                summary="Register a server in a pool")
async def register_server(body: ServerIn, request: Request) -> ServerOut:
    gpus = body.gpus or runtime_of(request.app).settings.inventory.server_gpus  # type: ignore[attr-defined]
    cmd = RegisterServer(**body.model_dump(exclude={"gpus"}), gpus=gpus)
    return ServerOut.model_validate(vars(await _handle(request, cmd)))


@inventory.get("/servers", response_model=list[ServerOut], dependencies=OPERATOR_ONLY,
               summary="Servers, by name, of a pool and model")
async def list_servers(request: Request, pool: Pool | None = None, gpu_model: str | None = None,
                       ) -> list[ServerOut]:
    async with _uow(request) as uow:
        servers = await uow.inventory.servers(pool=pool, gpu_model=gpu_model)
    return [ServerOut.model_validate(vars(s)) for s in servers]


@inventory.get("/pools/{program}/capacity", response_model=CapacityOut,
               summary="Total, allocated and free GPUs of a program's pool at an instant (default: now)",
               description="Any authenticated role may read it: partners plan their requests by it.")
async def pool_capacity(program: Pool, request: Request, gpu_model: str | None = None,
                        at: AwareDatetime | None = None) -> CapacityOut:
    at = at or datetime.now(UTC)
    async with _uow(request) as uow:
        total, allocated = await uow.inventory.capacity(program, gpu_model, at)
    return CapacityOut(program=program, gpu_model=gpu_model, at=at, total_gpus=total,
                       allocated_gpus=allocated, free_gpus=total - allocated)


@allocations.get("/allocations", response_model=list[AllocationOut], summary="Allocations, latest period first")
async def list_allocations(request: Request, application_id: UUID | None = None,
                           status: model.Status | None = None,
                           limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[AllocationOut]:
    async with _uow(request) as uow:
        found = await uow.allocations.list(application_id=application_id,
                                           status=status.value if status else None, limit=limit)
    return [_allocation_out(a) for a in found]


@allocations.get("/allocations/{allocation_id}", response_model=AllocationOut,
                 summary="One allocation with its GPUs and status")
async def get_allocation(allocation_id: UUID, request: Request) -> AllocationOut:
    async with _uow(request) as uow:
        found = await uow.allocations.get(allocation_id)
    if found is None:
        raise AllocationNotFound(str(allocation_id))
    return _allocation_out(found)


@allocations.post("/allocations/{allocation_id}/reclaim", response_model=AllocationOut,
                  summary="Reclaim an allocation's GPUs at once (misuse or operator decision)")
async def reclaim(allocation_id: UUID, body: ReclaimIn, request: Request) -> AllocationOut:
    cmd = ReclaimResource(allocation_id=allocation_id, reason=body.reason, at=body.at or datetime.now(UTC))
    return _allocation_out(await _handle(request, cmd))


@allocations.get("/waitlist", response_model=list[WaitlistOut],
                 summary="Applications waiting for capacity, best score first")
async def list_waitlist(request: Request, program: Pool | None = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 200) -> list[WaitlistOut]:
    async with _uow(request) as uow:
        entries = await uow.waiting.waitlist(program=program, limit=limit)
    return [WaitlistOut.model_validate(vars(e)) for e in entries]
