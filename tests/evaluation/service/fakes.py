"""Evaluation's in-memory repositories and unit of work, meeting the service layer's ports (service/unit_of_work.py).

Each read hands out a copy, as a row read from the database would be: a handler that changes an evaluation or a
round and forgets to save it leaves the store as it was. Locks are no-ops (one test, one task); the orders and the
duplicate refusals are the SQL repositories'.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from uuid import UUID

from evaluation.adapters.unit_of_work import SqlEvaluationUnitOfWork
from evaluation.config import PolicySeed
from evaluation.domain.model import Evaluation, Review, Round, Status, Withdrawal
from evaluation.domain.panel import Assignment, Exclusion, Reviewer, open_load
from evaluation.domain.policy import Change, Policy, PolicyVersion, in_force
from evaluation.service.unit_of_work import EvaluationUnitOfWork
from support.fakes import FakeUnitOfWork

SEEDED = Change(datetime(2025, 12, 1, tzinfo=UTC), "seed", "system")  # as migration 0002 stored 2026.1


class FakeWithdrawals:
    def __init__(self) -> None:
        self.rows: dict[UUID, Withdrawal] = {}
        self.policies: FakePolicies | None = None  # the unit of work's, for the version in force at an arrival

    async def lock(self, application_id: UUID) -> None:
        pass

    async def lock_arrival(self, application_id: UUID, submitted_at: datetime) -> str | None:
        assert self.policies is not None
        live = await self.policies.live()
        return in_force(live, submitted_at).version if live else None

    async def add(self, item: Withdrawal) -> bool:
        if item.application_id in self.rows:
            return False
        self.rows[item.application_id] = item
        return True

    async def get(self, application_id: UUID) -> Withdrawal | None:
        return self.rows.get(application_id)


class FakeEvaluations:
    def __init__(self, withdrawals: FakeWithdrawals) -> None:
        self.rows: dict[UUID, Evaluation] = {}
        self._withdrawals = withdrawals

    def __getitem__(self, application_id: UUID) -> Evaluation:
        return copy.deepcopy(self.rows[application_id])

    async def add(self, result: Evaluation) -> bool:
        if result.application_id in self.rows:
            return False
        self.rows[result.application_id] = copy.deepcopy(result)
        return True

    async def save(self, result: Evaluation) -> None:
        if result.application_id in self.rows:  # an UPDATE of a missing row changes nothing
            self.rows[result.application_id] = copy.deepcopy(result)

    async def get(self, application_id: UUID, *, for_update: bool = False) -> Evaluation | None:
        found = self.rows.get(application_id)
        return copy.deepcopy(found) if found else None

    async def awaiting_reviewers(self) -> list[Evaluation]:
        waiting = [r for r in self.rows.values() if r.status is Status.AWAITING_REVIEWERS]
        return copy.deepcopy(sorted(waiting, key=lambda r: (r.submission.submitted_at, r.application_id)))

    async def statuses(self, application_ids: Sequence[UUID]) -> dict[UUID, Status]:
        withdrawn = {a: Status.WITHDRAWN for a in application_ids if a in self._withdrawals.rows}
        return {**withdrawn, **{a: self.rows[a].status for a in application_ids if a in self.rows}}

    async def scored(self, *, call_id: UUID | None, limit: int) -> list[Evaluation]:
        scored = [r for r in self.rows.values()
                  if r.score is not None and (call_id is None or r.submission.call_id == call_id)]
        newest = sorted(scored, key=lambda r: (r.evaluated_at, r.application_id), reverse=True)
        return copy.deepcopy(newest[:limit])


class FakeRounds:
    def __init__(self) -> None:
        self.rows: dict[UUID, Round] = {}

    def __getitem__(self, call_id: UUID) -> Round:
        return copy.deepcopy(self.rows[call_id])

    async def lock_call(self, call_id: UUID) -> None:
        pass

    async def add(self, item: Round) -> bool:
        if item.call_id in self.rows:
            return False
        self.rows[item.call_id] = copy.deepcopy(item)
        return True

    async def get(self, call_id: UUID, *, for_update: bool = False) -> Round | None:
        found = self.rows.get(call_id)
        return copy.deepcopy(found) if found else None

    async def mark_scored(self, call_id: UUID, at: datetime) -> None:
        self.rows[call_id].scored_at = at

    async def waiting_for(self, application_id: UUID) -> Round | None:
        waiting = [r for r in self.rows.values() if r.scored_at is None and application_id in r.application_ids]
        return copy.deepcopy(min(waiting, key=lambda r: r.closed_at)) if waiting else None


@dataclass
class Seat:
    """A row of review_assignment: a reviewer on an application's panel, with its review once in, or its end."""

    application_id: UUID
    reviewer_id: UUID
    assigned_at: datetime
    scores: dict[str, float] | None = None
    reviewed_at: datetime | None = None
    ended_at: datetime | None = None


class FakePanels:
    def __init__(self, reviewers: dict[UUID, Reviewer], evaluations: FakeEvaluations) -> None:
        self._reviewers, self._evaluations = reviewers, evaluations
        self.seats: list[Seat] = []
        self.excluded: dict[tuple[UUID, UUID], str] = {}  # (application, reviewer) → the reason

    async def assign(self, application_id: UUID, reviewers: list[Reviewer], excluded: list[Exclusion],
                     at: datetime) -> None:
        taken = {(s.application_id, s.reviewer_id) for s in self.seats}
        for r in reviewers:
            assert (application_id, r.id) not in taken, "a reviewer is assigned to an application once (primary key)"
            self.seats.append(Seat(application_id, r.id, at))
        self.excluded.update({(application_id, e.reviewer_id): e.reason for e in excluded})

    async def record_review(self, application_id: UUID, reviewer_id: UUID, scores: dict[str, float],
                            at: datetime) -> bool:
        for seat in self.seats:
            if (seat.application_id, seat.reviewer_id, seat.reviewed_at) == (application_id, reviewer_id, None):
                seat.scores, seat.reviewed_at = dict(scores), at
                return True
        return False

    async def end(self, application_id: UUID, at: datetime) -> int:
        ending = [s for s in self.seats
                  if s.application_id == application_id and s.reviewed_at is None and s.ended_at is None]
        for seat in ending:
            seat.ended_at = at
        return len(ending)

    async def reviews(self, application_id: UUID) -> list[Review]:
        done = [s for s in self.seats if s.application_id == application_id and s.reviewed_at is not None]
        done.sort(key=lambda s: (s.reviewed_at, s.reviewer_id))
        return [Review(s.reviewer_id, dict(s.scores or {})) for s in done]

    async def assignments(self, *, application_id: UUID | None = None,
                          reviewer_id: UUID | None = None) -> list[Assignment]:
        found = [self._assignment(s) for s in self.seats
                 if application_id in (None, s.application_id) and reviewer_id in (None, s.reviewer_id)]
        return sorted(found, key=lambda a: (a.assigned_at, a.application_id, a.reviewer_name))

    def _assignment(self, seat: Seat) -> Assignment:
        s = self._evaluations.rows[seat.application_id]
        return Assignment(seat.application_id, seat.reviewer_id, self._reviewers[seat.reviewer_id].name,
                          seat.assigned_at, seat.scores, seat.reviewed_at, s.submission.program,
                          s.submission.call_id, s.status.value, seat.ended_at)


class FakeReviewers:
    def __init__(self, reviewers: dict[UUID, Reviewer], panels: FakePanels) -> None:
        self.rows, self._panels = reviewers, panels

    async def add(self, item: Reviewer) -> None:
        assert item.id not in self.rows, "a reviewer's id is its primary key"
        self.rows[item.id] = item

    async def find(self, *, active_only: bool = False) -> list[Reviewer]:
        found = [r for r in self.rows.values() if r.active or not active_only]
        return sorted(found, key=lambda r: (r.name, r.id))

    async def lock_assignment(self) -> None:
        pass

    async def open_load(self) -> dict[UUID, int]:
        return dict(open_load(await self._panels.assignments()))  # the SQL's count, by the domain's rule


class FakePolicies:
    """Seeded with the version 2026.1, as the first migration seeds the table."""

    def __init__(self, evaluations: FakeEvaluations, rounds: FakeRounds) -> None:
        self._evaluations, self._rounds = evaluations, rounds
        seed = PolicySeed().policy()
        self.versions: dict[str, PolicyVersion] = {seed.version: PolicyVersion(seed, SEEDED)}

    async def add(self, policy: Policy, created: Change) -> bool:
        if policy.version in self.versions:
            return False
        assert all(v.policy.effective_at != policy.effective_at for v in self.versions.values()
                   if v.cancelled is None), "two live versions never start at once (a unique index)"
        self.versions[policy.version] = PolicyVersion(policy, created)
        return True

    async def cancel(self, version: str, cancelled: Change) -> None:
        found = self.versions.get(version)
        if found is not None and found.cancelled is None:
            self.versions[version] = replace(found, cancelled=cancelled)

    async def get(self, version: str) -> Policy | None:
        found = self.versions.get(version)
        return found.policy if found else None

    async def record(self, version: str) -> PolicyVersion | None:
        return self.versions.get(version)

    async def live(self) -> list[Policy]:
        live = [v.policy for v in self.versions.values() if v.cancelled is None]
        return sorted(live, key=lambda p: p.effective_at, reverse=True)

    async def in_force(self, at: datetime) -> Policy:
        return in_force(await self.live(), at)

    async def named_by_a_decision(self, version: str) -> bool:
        def names(r: Evaluation) -> bool:
            return version in (r.policy_version, r.eligibility_policy_version) or any(
                c.policy_version == version for c in r.rechecks)

        return (any(names(r) for r in self._evaluations.rows.values())
                or any(r.policy_version == version for r in self._rounds.rows.values()))

    async def lock(self) -> None:
        pass


class FakeEvaluationUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.withdrawals = FakeWithdrawals()
        self.evaluations = FakeEvaluations(self.withdrawals)
        self.rounds = FakeRounds()
        reviewers: dict[UUID, Reviewer] = {}
        self.panels = FakePanels(reviewers, self.evaluations)
        self.reviewers = FakeReviewers(reviewers, self.panels)
        self.policies = self.withdrawals.policies = FakePolicies(self.evaluations, self.rounds)


def _fits(uow: FakeEvaluationUnitOfWork) -> EvaluationUnitOfWork:
    """mypy proves here that the fake meets the port the handlers are typed with..."""
    return uow


def _sql_fits(uow: SqlEvaluationUnitOfWork) -> EvaluationUnitOfWork:
    """...and that the SQL unit of work bootstrap wires does too."""
    return uow
