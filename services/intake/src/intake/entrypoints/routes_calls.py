"""The programs, and their calls: operators open and close P1/P2 rounds; any authenticated caller reads them."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends

from contracts.events.common import Program
from intake.domain.calls import Call, CallStatus
from intake.domain.commands import CloseCall, OpenCall
from intake.domain.errors import CallNotFound
from intake.entrypoints import pagination
from intake.entrypoints.deps import Bus, Uow, current_client
from intake.entrypoints.idempotency import idempotent_route
from intake.entrypoints.pagination import Page
from intake.entrypoints.schemas_calls import CallIn, CallOut, ProgramOut
from servicekit.auth import AUTH_RESPONSES, OPERATOR_ONLY, authenticated
from servicekit.http import PROBLEM_RESPONSES

router = APIRouter(tags=["programs and calls"], dependencies=[Depends(authenticated)],
                   responses={**PROBLEM_RESPONSES, **AUTH_RESPONSES}, route_class=idempotent_route(current_client))


def _out(call: Call) -> CallOut:
    return CallOut.model_validate(vars(call))


@router.get("/programs", response_model=list[ProgramOut], summary="The programs and how each takes applications")
async def programs(uow: Uow) -> list[ProgramOut]:
    return [ProgramOut.model_validate(vars(p)) for p in await uow.programs.every()]


# route dependencies run before the idempotency claim: a refused caller takes no key
@router.post("/calls", status_code=201, response_model=CallOut, dependencies=[OPERATOR_ONLY],
             summary="Open a call (a round) of P1 or P2")
async def open_(body: CallIn, bus: Bus) -> CallOut:
    cmd = OpenCall(program=body.program, title=body.title, opens_at=body.opens_at, closes_at=body.closes_at)
    return _out(await bus.handle(cmd))


@router.get("/calls", response_model=Page[CallOut], summary="Calls, the latest to open first")
async def list_(uow: Uow, program: Program | None = None, status: CallStatus | None = None,
                limit: pagination.Limit = 50, cursor: pagination.CursorParam = None) -> Page[CallOut]:
    found = await uow.calls.page(program=program, status=status.value if status else None,
                                 after=pagination.decode(cursor), limit=limit + 1)
    return pagination.page([_out(c) for c in found], limit, lambda c: (c.opens_at, c.id))


@router.get("/calls/{call_id}", response_model=CallOut, summary="One call")
async def get(call_id: UUID, uow: Uow) -> CallOut:
    call = await uow.calls.get(call_id)
    if call is None:
        raise CallNotFound(f"no call {call_id}")
    return _out(call)


@router.post("/calls/{call_id}/close", response_model=CallOut, dependencies=[OPERATOR_ONLY],
             summary="Close a call: its applications go on to evaluation and allocation")
async def close(call_id: UUID, bus: Bus) -> CallOut:
    return _out(await bus.handle(CloseCall(call_id=call_id)))
