"""Rounds with their decisions in and out of the database."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from allocation.adapters.orm import round_, round_decision, round_input
from allocation.domain.model import ProgramCode
from allocation.domain.rounds import Round, RoundDecision
from allocation.domain.whatif import InputCandidate, RoundInput

ROUND_STATE = ("status", "selected_at", "method", "objective", "capacity", "reserve_gpus", "reserve_gpus_used",
               "solve_seconds")


def _round(row: Any) -> Round:
    data = dict(row._mapping)
    return Round(**data | {"expected": frozenset(data["expected"])})


class RoundRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add(self, item: Round) -> bool:
        """False when the round is known already (a redelivered or repeated end of round)."""
        values = vars(item) | {"expected": sorted(item.expected)}
        stmt = insert(round_).values(values).on_conflict_do_nothing().returning(round_.c.call_id)
        return (await self._session.execute(stmt)).first() is not None

    async def get(self, call_id: UUID) -> Round | None:
        row = (await self._session.execute(select(round_).where(round_.c.call_id == call_id))).first()
        return _round(row) if row else None

    async def lock_pending(self, call_id: UUID) -> bool:
        """Lock the round's row; True if it is pending. Its expected ids are not read: a large round's list is
        costly to load for every score that arrives."""
        stmt = select(round_.c.status).where(round_.c.call_id == call_id).with_for_update()
        return await self._session.scalar(stmt) == "pending"

    async def find(self, *, program: ProgramCode | None = None, limit: int = 50) -> list[Round]:
        """The latest rounds first."""
        stmt = select(round_).order_by(round_.c.scored_at.desc()).limit(limit)
        if program is not None:
            stmt = stmt.where(round_.c.program == program)
        return [_round(r) for r in (await self._session.execute(stmt)).all()]

    async def save(self, item: Round) -> None:
        await self._session.execute(round_.update().where(round_.c.call_id == item.call_id).values(
            {k: getattr(item, k) for k in ROUND_STATE}))

    async def add_decisions(self, call_id: UUID, decisions: list[RoundDecision]) -> None:
        if decisions:
            await self._session.execute(round_decision.insert(), [vars(d) | {"call_id": call_id} for d in decisions])

    async def decision_of(self, application_id: UUID) -> tuple[UUID, RoundDecision] | None:
        """The application's decision with its round's call id, or None (no round decided on it)."""
        stmt = select(round_decision).where(round_decision.c.application_id == application_id).limit(1)
        row = (await self._session.execute(stmt)).first()
        if row is None:
            return None
        data = dict(row._mapping)
        return data.pop("call_id"), RoundDecision(**data)

    async def save_decision(self, call_id: UUID, decision: RoundDecision) -> None:
        await self._session.execute(round_decision.update().where(
            round_decision.c.call_id == call_id, round_decision.c.application_id == decision.application_id,
        ).values({k: v for k, v in vars(decision).items() if k != "application_id"}))

    async def decisions(self, call_id: UUID) -> list[RoundDecision]:
        """The selected first, each part in rank order."""
        stmt = (select(round_decision).where(round_decision.c.call_id == call_id)
                .order_by(round_decision.c.selected.desc(), round_decision.c.rank))
        rows = (await self._session.execute(stmt)).all()
        return [RoundDecision(**{k: v for k, v in r._mapping.items() if k != "call_id"}) for r in rows]

    async def add_input(self, item: RoundInput) -> None:
        await self._session.execute(round_input.insert().values(
            call_id=item.call_id, rules=dict(item.rules), capacity=dict(item.capacity), kept_at=item.kept_at,
            candidates=[_candidate_json(c) for c in item.candidates]))

    async def input_of(self, call_id: UUID) -> tuple[RoundInput, list[RoundDecision]] | None:
        row = (await self._session.execute(select(round_input).where(round_input.c.call_id == call_id))).first()
        if row is None:
            return None
        candidates = tuple(InputCandidate(**c | {"application_id": UUID(c["application_id"])})
                           for c in row.candidates)
        return RoundInput(call_id, row.rules, row.capacity, candidates, row.kept_at), await self.decisions(call_id)


def _candidate_json(c: InputCandidate) -> dict[str, Any]:
    return vars(c) | {"application_id": str(c.application_id), "bonuses": dict(c.bonuses),
                      "rubric_means": dict(c.rubric_means)}
