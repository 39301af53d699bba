"""The operator API of the waiting lines: rounds with every decision and its reason (and their what-if), the waitlist,
and offers."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from allocation.domain.errors import NotFound
from allocation.domain.offers import OfferState
from allocation.domain.rounds import Round, RoundDecision
from allocation.entrypoints.deps import RESPONSES, AllocationSettings, Uow
from allocation.entrypoints.schemas import GpuModel, Pool
from allocation.entrypoints.schemas_rounds import DecisionOut, OfferOut, RoundOut, WaitlistOut
from allocation.entrypoints.schemas_whatif import WhatIfIn, WhatIfOut
from allocation.service.whatif import replay_round
from servicekit.auth import OPERATOR_ONLY

lines = APIRouter(tags=["rounds and offers"], responses=RESPONSES, dependencies=[OPERATOR_ONLY])


def _round_out(found: Round, decisions: list[RoundDecision] | None = None) -> RoundOut:
    return RoundOut.model_validate({**vars(found), "expected": len(found.expected),
                                    "decisions": [DecisionOut.model_validate(vars(d)) for d in decisions or []]})


@lines.get("/rounds", response_model=list[RoundOut], summary="Rounds, latest first (without their decisions)")
async def list_rounds(uow: Uow, program: Pool | None = None,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[RoundOut]:
    return [_round_out(r) for r in await uow.rounds.find(program=program, limit=limit)]


@lines.get("/rounds/{call_id}", response_model=RoundOut,
           summary="A round: its selection summary and, per application, selected or waitlisted and why")
async def get_round(call_id: UUID, uow: Uow) -> RoundOut:
    found = await uow.rounds.get(call_id)
    if found is None:
        raise NotFound(f"no round for call {call_id}")
    return _round_out(found, await uow.rounds.decisions(call_id))


@lines.post("/rounds/{call_id}/what-if", response_model=WhatIfOut,
            summary="Replay a selected round under other policies and compare; changes nothing")
async def what_if(call_id: UUID, body: WhatIfIn, uow: Uow, settings: AllocationSettings) -> WhatIfOut:
    """Each variant (reserve share, institution cap, bonus points, rubric weights, or another round rule) is
    replayed from the input kept at the round's selection: who changes status, GPUs by region class, institution,
    sector and track, and the objective, against the recorded policy's replay and the stored decisions. Placement
    is not replayed. 409 when the round is not selected yet or was selected before its input was kept."""
    found = await replay_round(call_id, [v.to_variant() for v in body.variants], uow, settings.policy())
    return WhatIfOut.of(found)


@lines.get("/waitlist", response_model=list[WaitlistOut], summary="Applications waiting for capacity, in rank order")
async def list_waitlist(uow: Uow, program: Pool | None = None, gpu_model: GpuModel | None = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 200) -> list[WaitlistOut]:
    entries = await uow.waiting.waitlist(program=program, gpu_model=gpu_model, limit=limit)
    return [WaitlistOut.model_validate(vars(e)) for e in entries]


@lines.get("/offers", response_model=list[OfferOut],
           summary="Offers of freed capacity, latest first, with the time from capacity freed to offer made")
async def list_offers(uow: Uow, state: OfferState | None = None, application_id: UUID | None = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[OfferOut]:
    found = await uow.offers.find(state=state, application_id=application_id, limit=limit)
    return [OfferOut.model_validate({**vars(o), "latency_s": o.latency_s}) for o in found]
