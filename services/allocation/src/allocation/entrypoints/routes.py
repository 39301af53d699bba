"""The operator API: the GPU inventory, its availability windows and capacity, allocations, reclaims and waivers.

Every route wants an access token; all are operator-only but a pool's capacity, which any role may read.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from allocation.adapters.unit_of_work import AllocationUnitOfWork
from allocation.domain import model
from allocation.domain.commands import (
    EndWindow,
    OpenWindow,
    ReclaimResource,
    RegisterCsp,
    RegisterServer,
    WaiveReclaim,
)
from allocation.domain.errors import AllocationNotFound, InvalidInput, NotFound
from allocation.entrypoints.schemas import (
    AllocationOut,
    CapacityOut,
    CspIn,
    CspOut,
    DailyCapacityOut,
    GpuModel,
    Pool,
    ReclaimIn,
    ServerIn,
    ServerOut,
    WindowEndIn,
    WindowIn,
    WindowOut,
)
from servicekit.auth import AUTH_RESPONSES, authenticated, require
from servicekit.bounds import Day, Instant
from servicekit.http import PROBLEM_RESPONSES
from servicekit.runtime import runtime_of

MAX_DAYS = 366
RESPONSES = {**PROBLEM_RESPONSES, **AUTH_RESPONSES}
OPERATOR_ONLY = [Depends(require("operator"))]
inventory = APIRouter(tags=["inventory"], responses=RESPONSES, dependencies=[Depends(authenticated)])
allocations = APIRouter(tags=["allocations"], responses=RESPONSES, dependencies=OPERATOR_ONLY)


def uow_of(request: Request) -> AllocationUnitOfWork:
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
    async with uow_of(request) as uow:
        return [CspOut.model_validate(vars(c)) for c in await uow.inventory.csps()]


@inventory.post("/servers", status_code=201, response_model=ServerOut, dependencies=OPERATOR_ONLY,
                summary="Register a server in a pool")
async def register_server(body: ServerIn, request: Request) -> ServerOut:
    gpus = body.gpus or runtime_of(request.app).settings.inventory.server_gpus  # type: ignore[attr-defined]
    cmd = RegisterServer(**body.model_dump(exclude={"gpus"}), gpus=gpus)
    return ServerOut.model_validate(vars(await _handle(request, cmd)))


@inventory.get("/servers", response_model=list[ServerOut], dependencies=OPERATOR_ONLY,
               summary="Servers, by name, of a pool and model")
async def list_servers(request: Request, pool: Pool | None = None, gpu_model: GpuModel | None = None,
                       ) -> list[ServerOut]:
    async with uow_of(request) as uow:
        servers = await uow.inventory.servers(pool=pool, gpu_model=gpu_model)
    return [ServerOut.model_validate(vars(s)) for s in servers]


@inventory.post("/servers/{server_id}/windows", status_code=201, response_model=WindowOut,
                dependencies=OPERATOR_ONLY, summary="Lend a server to a pool for a while (an idle window)",
                description="The pool's waitlist is offered the new capacity at once, in rank order.")
async def open_window(server_id: UUID, body: WindowIn, request: Request) -> WindowOut:
    window = await _handle(request, OpenWindow(server_id=server_id, **body.model_dump()))
    return WindowOut.model_validate(vars(window))


@inventory.patch("/servers/{server_id}/windows/{window_id}", response_model=WindowOut, dependencies=OPERATOR_ONLY,
                 summary="Move a window's last day",
                 description="Earlier only while no allocation holds the server's GPUs after the new end (409 "
                             "otherwise); later only into time no other window of the server covers, and the "
                             "waitlist is offered what it adds.")
async def end_window(server_id: UUID, window_id: UUID, body: WindowEndIn, request: Request) -> WindowOut:
    window = await _handle(request, EndWindow(server_id=server_id, window_id=window_id, ends_on=body.ends_on))
    return WindowOut.model_validate(vars(window))


@inventory.get("/servers/{server_id}/windows", response_model=list[WindowOut], dependencies=OPERATOR_ONLY,
               summary="When the server serves which pool")
async def list_windows(server_id: UUID, request: Request) -> list[WindowOut]:
    async with uow_of(request) as uow:
        if await uow.inventory.server(server_id) is None:
            raise NotFound(f"no server {server_id}")
        return [WindowOut.model_validate(vars(w)) for w in await uow.inventory.windows(server_id=server_id)]


@inventory.get("/pools/{program}/capacity/daily", response_model=list[DailyCapacityOut],
               summary="Per day and GPU model: GPUs serving the pool all day, allocated or held, and free")
async def daily_capacity(program: Pool, request: Request, start: Day, end: Day,
                         gpu_model: GpuModel | None = None) -> list[DailyCapacityOut]:
    if end < start:
        raise InvalidInput("end", "must not be before start")
    if end - start >= timedelta(days=MAX_DAYS):
        raise InvalidInput("end", f"at most {MAX_DAYS} days per query")
    async with uow_of(request) as uow:
        rows = await uow.inventory.daily_capacity(program, gpu_model, start, end)
    return [DailyCapacityOut(**r, free_gpus=r["total_gpus"] - r["allocated_gpus"]) for r in rows]


@inventory.get("/pools/{program}/capacity", response_model=CapacityOut,
               summary="Total, allocated and free GPUs of a program's pool at an instant (default: now)",
               description="Any authenticated role may read it: partners plan their requests by it.")
async def pool_capacity(program: Pool, request: Request, gpu_model: GpuModel | None = None,
                        at: Instant | None = None) -> CapacityOut:
    at = at or datetime.now(UTC)
    async with uow_of(request) as uow:
        total, allocated = await uow.inventory.capacity(program, gpu_model, at)
    return CapacityOut(program=program, gpu_model=gpu_model, at=at, total_gpus=total,
                       allocated_gpus=allocated, free_gpus=total - allocated)


@allocations.get("/allocations", response_model=list[AllocationOut], summary="Allocations, latest period first")
async def list_allocations(request: Request, application_id: UUID | None = None,
                           status: model.Status | None = None,
                           limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[AllocationOut]:
    async with uow_of(request) as uow:
        found = await uow.allocations.list(application_id=application_id,
                                           status=status.value if status else None, limit=limit)
    return [_allocation_out(a) for a in found]


@allocations.get("/allocations/{allocation_id}", response_model=AllocationOut,
                 summary="One allocation with its GPUs and status")
async def get_allocation(allocation_id: UUID, request: Request) -> AllocationOut:
    async with uow_of(request) as uow:
        found = await uow.allocations.get(allocation_id)
    if found is None:
        raise AllocationNotFound(str(allocation_id))
    return _allocation_out(found)


@allocations.post("/allocations/{allocation_id}/reclaim", response_model=AllocationOut,
                  summary="Reclaim an allocation's GPUs at once (misuse or operator decision)")
async def reclaim(allocation_id: UUID, body: ReclaimIn, request: Request) -> AllocationOut:
    cmd = ReclaimResource(allocation_id=allocation_id, reason=body.reason, at=body.at or datetime.now(UTC))
    return _allocation_out(await _handle(request, cmd))


@allocations.post("/allocations/{allocation_id}/waive", response_model=AllocationOut,
                  summary="Waive the reclaim ladder: a reclaim for the warnings so far is not carried out",
                  description="A new low-utilization warning after the waiver re-arms the ladder.")
async def waive(allocation_id: UUID, request: Request) -> AllocationOut:
    return _allocation_out(await _handle(request, WaiveReclaim(allocation_id=allocation_id, at=datetime.now(UTC))))
