"""A CSP's host mappings, kept by an operator or by the CSP itself: which of our servers each of its hosts is.

The DCGM exporter names a GPU's host by its `Hostname` label; by default that is the server's name here. Where it
is not, the mapping says which server it is, and remote-write stores the host's samples under that server.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from servicekit.auth import AUTH_RESPONSES, authenticated
from servicekit.http import PROBLEM_RESPONSES, Problem
from telemetry.domain.commands import MapHost, UnmapHost
from telemetry.domain.model import HostMapping
from telemetry.entrypoints.deps import Bus, OperatorOrTheCsp, Uow
from telemetry.entrypoints.schemas_hosts import HostIn, HostnamePath, HostOut

router = APIRouter(prefix="/csps/{csp_id}/hosts", tags=["hosts"], responses={**PROBLEM_RESPONSES, **AUTH_RESPONSES},
                   dependencies=[Depends(authenticated)])
NOT_THEIRS: dict[int | str, dict[str, Any]] = {
    403: {"model": Problem, "description": "Neither an operator nor the CSP of this id"}}


def host_out(mapping: HostMapping) -> HostOut:
    return HostOut(csp_id=mapping.csp_id, hostname=mapping.hostname, server=mapping.server_name)


@router.get("", response_model=list[HostOut], responses=NOT_THEIRS,
            summary="The CSP's host mappings, by hostname; a host not listed is the server of its own name")
async def list_hosts(csp: OperatorOrTheCsp, uow: Uow) -> list[HostOut]:
    return [host_out(m) for m in await uow.hosts.of_csp(csp)]


@router.put("/{hostname}", response_model=HostOut, responses=NOT_THEIRS,
            summary="Map one of the CSP's hosts to our server: its remote-write samples are stored under that server")
async def put_host(hostname: HostnamePath, body: HostIn, csp: OperatorOrTheCsp, bus: Bus) -> HostOut:
    mapping: HostMapping = await bus.handle(MapHost(csp_id=csp, hostname=hostname, server_name=body.server))
    return host_out(mapping)


@router.delete("/{hostname}", status_code=204, response_class=Response, responses=NOT_THEIRS,
               summary="Remove a host's mapping: the host is the server of its own name again (404 if not mapped)")
async def delete_host(hostname: HostnamePath, csp: OperatorOrTheCsp, bus: Bus) -> Response:
    await bus.handle(UnmapHost(csp_id=csp, hostname=hostname))
    return Response(status_code=204)
