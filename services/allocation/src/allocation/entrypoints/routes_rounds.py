"""The operator API of the waiting lines: rounds with every decision and its reason, the waitlist, and offers."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from allocation.domain.errors import NotFound
from allocation.domain.offers import OfferState
from allocation.domain.rounds import Round
from allocation.entrypoints.routes import RESPONSES, uow_of
from allocation.entrypoints.schemas import DecisionOut, GpuModel, OfferOut, Pool, RoundOut, WaitlistOut
from servicekit.auth import require

lines = APIRouter(tags=["rounds and offers"], responses=RESPONSES, dependencies=[Depends(require("operator"))])


def _round_out(found: Round, decisions: list[dict[str, object]] | None = None) -> RoundOut:
    return RoundOut.model_validate({**vars(found), "expected": len(found.expected),
                                    "decisions": [DecisionOut.model_validate(d) for d in decisions or []]})


@lines.get("/rounds", response_model=list[RoundOut], summary="Rounds, latest first (without their decisions)")
async def list_rounds(request: Request, program: Pool | None = None,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[RoundOut]:
    async with uow_of(request) as uow:
        return [_round_out(r) for r in await uow.rounds.list(program=program, limit=limit)]


@lines.get("/rounds/{call_id}", response_model=RoundOut,
           summary="A round: its selection summary and, per application, selected or waitlisted and why")
async def get_round(call_id: UUID, request: Request) -> RoundOut:
    async with uow_of(request) as uow:
        found = await uow.rounds.get(call_id)
        if found is None:
            raise NotFound(f"no round for call {call_id}")
        return _round_out(found, await uow.rounds.decisions(call_id))


@lines.get("/waitlist", response_model=list[WaitlistOut], summary="Applications waiting for capacity, in rank order")
async def list_waitlist(request: Request, program: Pool | None = None, gpu_model: GpuModel | None = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 200) -> list[WaitlistOut]:
    async with uow_of(request) as uow:
        entries = await uow.waiting.waitlist(program=program, gpu_model=gpu_model, limit=limit)
    return [WaitlistOut.model_validate(vars(e)) for e in entries]


@lines.get("/offers", response_model=list[OfferOut],
           summary="Offers of freed capacity, latest first, with the time from capacity freed to offer made")
async def list_offers(request: Request, state: OfferState | None = None, application_id: UUID | None = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[OfferOut]:
    async with uow_of(request) as uow:
        found = await uow.offers.list(state=state.value if state else None, application_id=application_id,
                                      limit=limit)
    return [OfferOut.model_validate({**vars(o), "latency_s": o.latency_s}) for o in found]
