"""The operator API of the inventory: CSPs, servers (and their GPUs' UUIDs), their availability windows, and a pool's
capacity.

Every route wants an access token; all are operator-only but a pool's capacity, which any role may read.
"""
from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from fastapi import APIRouter, Depends

from allocation.domain.commands import EndWindow, OpenWindow, RegisterCsp, RegisterServer, SetGpuUuids
from allocation.domain.errors import InvalidInput, NotFound
from allocation.entrypoints.deps import RESPONSES, AllocationSettings, Bus, Now, Uow
from allocation.entrypoints.schemas import (
    CapacityOut,
    CspIn,
    CspOut,
    DailyCapacityOut,
    GpuModel,
    GpuUuidsIn,
    Pool,
    ServerIn,
    ServerOut,
    WindowEndIn,
    WindowIn,
    WindowOut,
)
from servicekit.auth import OPERATOR_ONLY, authenticated
from servicekit.bounds import Day, Instant

MAX_DAYS = 366
inventory = APIRouter(tags=["inventory"], responses=RESPONSES, dependencies=[Depends(authenticated)])


@inventory.post("/csps", status_code=201, response_model=CspOut, dependencies=[OPERATOR_ONLY],
                summary="Register a cloud service provider")
async def register_csp(body: CspIn, bus: Bus) -> CspOut:
    return CspOut.model_validate(vars(await bus.handle(RegisterCsp(name=body.name))))


@inventory.get("/csps", response_model=list[CspOut], dependencies=[OPERATOR_ONLY], summary="Every CSP, by name")
async def list_csps(uow: Uow) -> list[CspOut]:
    return [CspOut.model_validate(vars(c)) for c in await uow.inventory.every_csp()]


@inventory.post("/servers", status_code=201, response_model=ServerOut, dependencies=[OPERATOR_ONLY],
                summary="Register a server in a pool",
                description="A taken name, or a GPU UUID another server has, is a conflict (409) naming the field.")
async def register_server(body: ServerIn, bus: Bus, settings: AllocationSettings) -> ServerOut:
    gpus = body.gpus or settings.inventory.server_gpus
    cmd = RegisterServer(**body.model_dump(exclude={"gpus", "gpu_uuids"}), gpus=gpus,
                         gpu_uuids=tuple(body.gpu_uuids or ()))
    return ServerOut.model_validate(vars(await bus.handle(cmd)))


@inventory.get("/servers", response_model=list[ServerOut], dependencies=[OPERATOR_ONLY],
               summary="Servers, by name, of a pool and model")
async def list_servers(uow: Uow, pool: Pool | None = None, gpu_model: GpuModel | None = None) -> list[ServerOut]:
    servers = await uow.inventory.servers(pool=pool, gpu_model=gpu_model)
    return [ServerOut.model_validate(vars(s)) for s in servers]


@inventory.put("/servers/{server_id}/gpu-uuids", response_model=ServerOut, dependencies=[OPERATOR_ONLY],
               summary="Set the UUIDs of a server's GPUs",
               description="Replaces them all: one per GPU in index order (an empty list forgets them). A UUID "
                           "another server has is a conflict (409); a wrong count, a malformed or a repeated UUID "
                           "is refused naming the field (422). GPUs allocated from now on carry them in their "
                           "events; events already published keep what they said.")
async def set_gpu_uuids(server_id: UUID, body: GpuUuidsIn, bus: Bus) -> ServerOut:
    server = await bus.handle(SetGpuUuids(server_id=server_id, gpu_uuids=tuple(body.gpu_uuids)))
    return ServerOut.model_validate(vars(server))


@inventory.post("/servers/{server_id}/windows", status_code=201, response_model=WindowOut,
                dependencies=[OPERATOR_ONLY], summary="Lend a server to a pool for a while (an idle window)",
                description="The pool's waitlist is offered the new capacity at once, in rank order.")
async def open_window(server_id: UUID, body: WindowIn, bus: Bus) -> WindowOut:
    window = await bus.handle(OpenWindow(server_id=server_id, **body.model_dump()))
    return WindowOut.model_validate(vars(window))


@inventory.patch("/servers/{server_id}/windows/{window_id}", response_model=WindowOut, dependencies=[OPERATOR_ONLY],
                 summary="Move a window's last day",
                 description="Earlier only while no allocation holds the server's GPUs after the new end (409 "
                             "otherwise); later only into time no other window of the server covers, and the "
                             "waitlist is offered what it adds.")
async def end_window(server_id: UUID, window_id: UUID, body: WindowEndIn, bus: Bus) -> WindowOut:
    window = await bus.handle(EndWindow(server_id=server_id, window_id=window_id, ends_on=body.ends_on))
    return WindowOut.model_validate(vars(window))


@inventory.get("/servers/{server_id}/windows", response_model=list[WindowOut], dependencies=[OPERATOR_ONLY],
               summary="When the server serves which pool")
async def list_windows(server_id: UUID, uow: Uow) -> list[WindowOut]:
    if await uow.inventory.server(server_id) is None:
        raise NotFound(f"no server {server_id}")
    return [WindowOut.model_validate(vars(w)) for w in await uow.inventory.windows(server_id=server_id)]


@inventory.get("/pools/{program}/capacity/daily", response_model=list[DailyCapacityOut],
               summary="Per day and GPU model: GPUs serving the pool all day, allocated or held, and free")
async def daily_capacity(program: Pool, uow: Uow, start: Day, end: Day,
                         gpu_model: GpuModel | None = None) -> list[DailyCapacityOut]:
    if end < start:
        raise InvalidInput("end", "must not be before start")
    if end - start >= timedelta(days=MAX_DAYS):
        raise InvalidInput("end", f"at most {MAX_DAYS} days per query")
    rows = await uow.inventory.daily_capacity(program, gpu_model, start, end)
    return [DailyCapacityOut(**r, free_gpus=r["total_gpus"] - r["allocated_gpus"]) for r in rows]


@inventory.get("/pools/{program}/capacity", response_model=CapacityOut,
               summary="Total, allocated and free GPUs of a program's pool at an instant (default: now)",
               description="Any authenticated role may read it: partners plan their requests by it.")
async def pool_capacity(program: Pool, uow: Uow, now: Now, gpu_model: GpuModel | None = None,
                        at: Instant | None = None) -> CapacityOut:
    at = at or now()
    total, allocated = await uow.inventory.capacity(program, gpu_model, at)
    return CapacityOut(program=program, gpu_model=gpu_model, at=at, total_gpus=total,
                       allocated_gpus=allocated, free_gpus=total - allocated)
