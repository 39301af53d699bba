"""Handlers of the inventory: CSPs, servers (with the UUIDs of their GPUs) and their availability windows.

New capacity (a server, a window, a window that ends later) is offered to the pool's waitlist at once. A new CSP is
announced (CspRegistered): intake links a CSP's OAuth2 client to it by its id.
"""
from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

from allocation.domain import model
from allocation.domain.commands import (
    AnnounceCsps,
    EndWindow,
    OpenWindow,
    RegisterCsp,
    RegisterServer,
    SeedInventory,
    SetGpuUuids,
)
from allocation.domain.errors import DuplicateName, InvalidInput, NotFound, Overlap
from allocation.domain.policy import Policy
from allocation.domain.windows import Window, window_bounds
from allocation.service.placement import offer_freed
from allocation.service.unit_of_work import AllocationUnitOfWork
from contracts import CspRegistered
from servicekit.clock import Clock


async def register_csp(cmd: RegisterCsp, uow: AllocationUnitOfWork) -> model.Csp:
    csp = model.Csp(id=uuid4(), name=cmd.name)
    if not await uow.inventory.add_csp(csp):
        raise DuplicateName("name", f"a CSP named {cmd.name!r} exists already")
    await uow.outbox.add(CspRegistered(csp_id=csp.id, name=csp.name))
    return csp


async def announce_csps(cmd: AnnounceCsps, uow: AllocationUnitOfWork) -> int:
    """Returns how many CSPs were announced."""
    csps = await uow.inventory.every_csp()
    for csp in csps:
        await uow.outbox.add(CspRegistered(csp_id=csp.id, name=csp.name))
    return len(csps)


async def register_server(cmd: RegisterServer, uow: AllocationUnitOfWork, policy: Policy,
                          clock: Clock) -> model.Server:
    """A new server is new capacity: its pool's waitlist is offered it at once."""
    server = await _server(cmd, uow)
    await _refuse_held_uuids(server, uow)
    if not await uow.inventory.add_server(server):
        raise DuplicateName("name", f"a server named {cmd.name!r} exists already")
    await _store_gpu_uuids(server, uow)
    await _first_window(server, cmd, uow)
    await offer_freed(server.pool, server.gpu_model, uow, policy, clock())
    return server


async def seed_inventory(cmd: SeedInventory, uow: AllocationUnitOfWork) -> int:
    """Returns how many CSPs and servers were created; a second run creates none."""
    created = 0
    for name in cmd.csps:
        csp = model.Csp(id=uuid4(), name=name)
        if await uow.inventory.add_csp(csp):
            await uow.outbox.add(CspRegistered(csp_id=csp.id, name=csp.name))
            created += 1
    for spec in cmd.servers:
        server = await _server(spec, uow)
        await _refuse_held_uuids(server, uow)
        if await uow.inventory.add_server(server):
            await _store_gpu_uuids(server, uow)
            await _first_window(server, spec, uow)
            created += 1
    return created


async def set_gpu_uuids(cmd: SetGpuUuids, uow: AllocationUnitOfWork) -> model.Server:
    """The UUIDs of a server's GPUs, as DCGM labels them, for the GPUs allocated from now on (events already
    published keep what they said). Each belongs to one GPU of the inventory."""
    found = await uow.inventory.server(cmd.server_id)
    if found is None:
        raise NotFound(f"no server {cmd.server_id}")
    server = replace(found, gpu_uuids=model.gpu_uuids(cmd.gpu_uuids, found.gpus))
    await _refuse_held_uuids(server, uow)
    await _store_gpu_uuids(server, uow)
    return server


async def open_window(cmd: OpenWindow, uow: AllocationUnitOfWork, policy: Policy, clock: Clock) -> Window:
    """The server serves `pool` for a while (an idle window): the pool's waitlist is offered it at once."""
    server = await uow.inventory.server(cmd.server_id)
    if server is None:
        raise NotFound(f"no server {cmd.server_id}")
    starts_at, ends_at = window_bounds(cmd.starts_on, cmd.ends_on)
    window = Window(id=uuid4(), server_id=server.id, pool=cmd.pool, starts_at=starts_at, ends_at=ends_at,
                    note=cmd.note)
    if clash := await uow.inventory.windows(server_id=server.id, overlapping=(starts_at, ends_at)):
        raise Overlap("starts_on", f"{server.name} already serves {clash[0].pool} in part of that time")
    await uow.inventory.add_window(window)
    await offer_freed(cmd.pool, server.gpu_model, uow, policy, clock())
    return window


async def end_window(cmd: EndWindow, uow: AllocationUnitOfWork, policy: Policy, clock: Clock) -> Window:
    window, server = await uow.inventory.window(cmd.window_id), await uow.inventory.server(cmd.server_id)
    if window is None or server is None or window.server_id != server.id:
        raise NotFound(f"no window {cmd.window_id} of server {cmd.server_id}")
    moved = window.ending(window_bounds(None, cmd.ends_on)[1])
    if (cut := window.cut_by(moved)) and (held := await uow.inventory.holders(server.id, cut)):
        raise Overlap("ends_on", f"{len(held)} allocation(s) hold GPUs of {server.name} after the new end, "
                                 f"e.g. {held[0]}: reclaim or wait for them first")
    if added := moved.cut_by(window):
        if clash := [w for w in await uow.inventory.windows(server_id=server.id, overlapping=added)
                     if w.id != window.id]:
            raise Overlap("ends_on", f"{server.name} serves {clash[0].pool} in part of that time")
    await uow.inventory.set_window_end(moved)
    if added:
        await offer_freed(moved.pool, server.gpu_model, uow, policy, clock())
    return moved


async def _server(spec: RegisterServer, uow: AllocationUnitOfWork) -> model.Server:
    owner = await uow.inventory.csp_named(spec.csp)
    if owner is None:
        raise InvalidInput("csp", f"no CSP named {spec.csp!r}")
    return model.Server(id=uuid4(), csp_id=owner.id, csp=owner.name, name=spec.name, region=spec.region,
                        gpu_model=spec.gpu_model, gpus=spec.gpus, pool=spec.pool,
                        gpu_uuids=model.gpu_uuids(spec.gpu_uuids, spec.gpus))


async def _refuse_held_uuids(server: model.Server, uow: AllocationUnitOfWork) -> None:
    """A GPU UUID another server has is a conflict, each named by its place in the list."""
    holders = await uow.inventory.gpu_uuid_holders(server.gpu_uuids) if server.gpu_uuids else {}
    taken = [(f"{model.GPU_UUIDS}.{i}", f"{uuid} is a GPU of {holders[uuid]} already")
             for i, uuid in enumerate(server.gpu_uuids) if holders.get(uuid, server.name) != server.name]
    if taken:
        (field, reason), *more = taken
        raise DuplicateName(field, reason, *more)


async def _store_gpu_uuids(server: model.Server, uow: AllocationUnitOfWork) -> None:
    if not await uow.inventory.set_gpu_uuids(server.id, server.gpu_uuids):  # another server took one meanwhile
        raise DuplicateName(model.GPU_UUIDS, "another server was given one of these GPU UUIDs at the same time")


async def _first_window(server: model.Server, spec: RegisterServer, uow: AllocationUnitOfWork) -> None:
    starts_at, ends_at = window_bounds(spec.available_from, spec.available_until)
    await uow.inventory.add_window(Window(id=uuid4(), server_id=server.id, pool=server.pool, starts_at=starts_at,
                                          ends_at=ends_at, note="registered"))
