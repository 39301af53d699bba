"""The what-if on the in-memory fakes: a round's input is kept at its selection, and replaying it changes nothing."""
from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from allocation.domain.commands import AddRoundCandidate, SelectRound
from allocation.domain.errors import NotFound, NotReplayable
from allocation.domain.policy import Policy
from allocation.domain.whatif import Variant
from allocation.service.whatif import replay_round
from support.clock import ManualClock

from .fakes import seeded, servers

MAR_1 = datetime(2027, 3, 1, tzinfo=UTC)


def candidate(call_id: UUID, score: float, institution: str, region_class: str, sector: str,
              bonuses: dict[str, float] | None = None) -> AddRoundCandidate:
    return AddRoundCandidate(
        application_id=uuid4(), program="P2", call_id=call_id, score=score, track="general", institution=institution,
        gpus=8, gpu_model="H200", period_start=date(2027, 3, 1), period_end=date(2027, 8, 31),
        region_class=region_class, sector=sector, bonuses=bonuses or {}, rubric_means={"capability_readiness": 78.0})


async def test_the_selection_keeps_its_input_and_a_replay_of_it_changes_nothing() -> None:
    uow, bus = await seeded(ManualClock(), *servers("P2", 1, gpu_model="H200"))
    call = uuid4()
    capital = candidate(call, 80, "SNU", "capital", "academia")
    regional = candidate(call, 81, "PNU", "non_capital", "public", {"non_capital_region": 3.0})
    pending = uuid4()
    await bus.handle(SelectRound(pending, "P2", (uuid4(),), (), MAR_1))
    with pytest.raises(NotReplayable):
        await replay_round(pending, [Variant("any")], uow, Policy())
    await bus.handle(SelectRound(call, "P2", (capital.application_id, regional.application_id), (), MAR_1))
    for c in (capital, regional):
        await bus.handle(c)
    (item, decisions) = await uow.rounds.input_of(call) or pytest.fail("no input kept")
    assert ({c.application_id: (c.region_class, c.sector, dict(c.bonuses)) for c in item.candidates},
            dict(item.capacity), item.rules["reserve_share"]) == (
        {capital.application_id: ("capital", "academia", {}),
         regional.application_id: ("non_capital", "public", {"non_capital_region": 3.0})}, {"H200": 8}, 0.30)
    published, kept_decisions = [*uow.published, *uow.outbox.pending], list(decisions)

    found = await replay_round(call, [Variant("smaller bonus", bonus_points={"non_capital_region": 1.0})], uow,
                               Policy())
    assert {c.application_id for c in found.variants[0].vs_baseline.changes} == {capital.application_id,
                                                                                 regional.application_id}
    assert [*uow.published, *uow.outbox.pending] == published and uow.rounds.decisions[call] == kept_decisions
    with pytest.raises(NotFound):
        await replay_round(uuid4(), [Variant("any")], uow, Policy())
