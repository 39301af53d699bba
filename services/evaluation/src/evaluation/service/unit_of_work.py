"""What the service layer relies on, as ports: a collection per aggregate and the unit of work that holds them.

The SQL unit of work (adapters/unit_of_work.py) meets them, and so does the in-memory fake of the fast test tier.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from evaluation.domain.model import Evaluation, Review, Round, Status, Withdrawal
from evaluation.domain.panel import Assignment, Exclusion, Reviewer
from evaluation.domain.policy import Change, Policy, PolicyVersion
from servicekit.uow import UnitOfWork


class Evaluations(Protocol):
    async def add(self, result: Evaluation) -> bool:
        """Store the evaluation; False (and nothing changed) when the application already has one."""
    async def save(self, result: Evaluation) -> None: ...
    async def get(self, application_id: UUID, *, for_update: bool = False) -> Evaluation | None: ...
    async def awaiting_reviewers(self) -> list[Evaluation]:
        """Applications waiting for a panel, oldest submission first."""
    async def statuses(self, application_ids: Sequence[UUID]) -> dict[UUID, Status]:
        """The status of each of these applications evaluation has, and `withdrawn` for one withdrawn before it
        arrived; the others are left out."""
    async def scored(self, *, call_id: UUID | None, limit: int) -> list[Evaluation]:
        """The latest scored applications (of one call, if given), newest decision first."""


class Policies(Protocol):
    async def add(self, policy: Policy, created: Change) -> bool:
        """False when the version name is taken, even by a cancelled version (nothing changes)."""
    async def cancel(self, version: str, cancelled: Change) -> None: ...
    async def get(self, version: str) -> Policy | None: ...
    async def record(self, version: str) -> PolicyVersion | None:
        """One version with its audit, cancelled or not."""
    async def live(self) -> list[Policy]:
        """Every version not cancelled, the latest start first."""
    async def in_force(self, at: datetime) -> Policy: ...
    async def named_by_a_decision(self, version: str) -> bool: ...
    async def lock(self) -> None:
        """Serialise policy changes."""


class Reviewers(Protocol):
    async def add(self, item: Reviewer) -> None: ...
    async def find(self, *, active_only: bool = False) -> list[Reviewer]:
        """By name, then id; only the active ones if asked."""
    async def lock_assignment(self) -> None:
        """Serialise panel assignment, so that loads stay exact and no arrival is missed by a registration."""
    async def open_load(self) -> dict[UUID, int]:
        """Per reviewer, its open assignments (`panel.open_load`): no review, not ended, the application in review."""


class Panels(Protocol):
    async def assign(self, application_id: UUID, reviewers: list[Reviewer], excluded: list[Exclusion],
                     at: datetime) -> None: ...
    async def record_review(self, application_id: UUID, reviewer_id: UUID, scores: dict[str, float],
                            at: datetime) -> bool:
        """False when the reviewer has reviewed this application already (nothing changes)."""
    async def reviews(self, application_id: UUID) -> list[Review]:
        """The reviews in, in the order they arrived."""
    async def assignments(self, *, application_id: UUID | None = None,
                          reviewer_id: UUID | None = None) -> list[Assignment]: ...
    async def end(self, application_id: UUID, at: datetime) -> int:
        """End the application's assignments still without a review (and not ended); returns how many ended."""


class Rounds(Protocol):
    async def lock_call(self, call_id: UUID) -> None:
        """Serialise a call's close with the arrival of its applications."""
    async def add(self, item: Round) -> bool:
        """False when the call's round was closed already (nothing changes)."""
    async def get(self, call_id: UUID, *, for_update: bool = False) -> Round | None: ...
    async def mark_scored(self, call_id: UUID, at: datetime) -> None: ...
    async def waiting_for(self, application_id: UUID) -> Round | None:
        """The closed round, not reported yet, that lists the application, if any."""


class Withdrawals(Protocol):
    async def lock(self, application_id: UUID) -> None:
        """Serialise an application's withdrawal with its arrival, so the later of the two sees the earlier."""
    async def lock_arrival(self, application_id: UUID, submitted_at: datetime) -> str | None:
        """`lock`, for the application's arrival, and the name of the policy version in force at `submitted_at`, in
        one round trip (None when no version is live)."""
    async def add(self, item: Withdrawal) -> bool:
        """False when the application's withdrawal is on record already (nothing changes)."""
    async def get(self, application_id: UUID) -> Withdrawal | None: ...


class EvaluationUnitOfWork(UnitOfWork, Protocol):
    @property
    def evaluations(self) -> Evaluations: ...
    @property
    def policies(self) -> Policies: ...
    @property
    def reviewers(self) -> Reviewers: ...
    @property
    def panels(self) -> Panels: ...
    @property
    def rounds(self) -> Rounds: ...
    @property
    def withdrawals(self) -> Withdrawals: ...
