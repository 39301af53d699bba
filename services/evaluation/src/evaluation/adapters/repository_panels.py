"""Reviewers, their assignments (a review is an assignment with scores) and the reviewers excluded for conflicts."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from evaluation.adapters.orm import evaluation, review_assignment, review_exclusion, reviewer
from evaluation.domain.model import Review, Status
from evaluation.domain.panel import Assignment, Exclusion, Reviewer


def _reviewer(row: Any) -> Reviewer:
    return Reviewer(id=row.id, name=row.name, institution=row.institution, expertise=tuple(row.expertise),
                    active=row.active)


class ReviewerRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add(self, item: Reviewer) -> None:
        await self._session.execute(reviewer.insert().values(
            id=item.id, name=item.name, institution=item.institution, expertise=list(item.expertise),
            active=item.active))

    async def get(self, reviewer_id: UUID) -> Reviewer | None:
        row = (await self._session.execute(select(reviewer).where(reviewer.c.id == reviewer_id))).first()
        return _reviewer(row) if row else None

    async def find(self, *, active_only: bool = False) -> list[Reviewer]:
        """By name; only the active ones if asked."""
        stmt = select(reviewer).order_by(reviewer.c.name, reviewer.c.id)
        if active_only:
            stmt = stmt.where(reviewer.c.active)
        return [_reviewer(r) for r in (await self._session.execute(stmt)).all()]

    async def lock_assignment(self) -> None:
        """Serialise panel assignment: a reviewer registering while an application arrives cannot leave it
        waiting with enough reviewers, and loads stay exact across workers."""
        await self._session.execute(select(func.pg_advisory_xact_lock(
            func.hashtextextended("evaluation.panel_assignment", 0))))

    async def open_load(self) -> dict[UUID, int]:
        """Per reviewer, its open assignments (`panel.open_load`): no review, not ended, the application in review."""
        stmt = (select(review_assignment.c.reviewer_id, func.count())
                .join(evaluation, evaluation.c.application_id == review_assignment.c.application_id)
                .where(review_assignment.c.reviewed_at.is_(None), review_assignment.c.ended_at.is_(None),
                       evaluation.c.status == Status.IN_REVIEW.value)
                .group_by(review_assignment.c.reviewer_id))
        return {r[0]: int(r[1]) for r in (await self._session.execute(stmt)).all()}


class PanelRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def assign(self, application_id: UUID, reviewers: list[Reviewer], excluded: list[Exclusion],
                     at: datetime) -> None:
        if reviewers:
            await self._session.execute(review_assignment.insert(), [
                {"application_id": application_id, "reviewer_id": r.id, "assigned_at": at} for r in reviewers])
        if excluded:
            stmt = insert(review_exclusion)
            await self._session.execute(
                stmt.on_conflict_do_update(index_elements=["application_id", "reviewer_id"],
                                           set_={"reason": stmt.excluded.reason,
                                                 "excluded_at": stmt.excluded.excluded_at}),
                [{"application_id": application_id, "reviewer_id": e.reviewer_id, "reason": e.reason,
                  "excluded_at": at} for e in excluded])

    async def record_review(self, application_id: UUID, reviewer_id: UUID, scores: dict[str, float],
                            at: datetime) -> bool:
        """False when the reviewer has reviewed this application already (nothing changes)."""
        stmt = (update(review_assignment)
                .where(review_assignment.c.application_id == application_id,
                       review_assignment.c.reviewer_id == reviewer_id, review_assignment.c.reviewed_at.is_(None))
                .values(scores=scores, reviewed_at=at).returning(review_assignment.c.reviewer_id))
        return (await self._session.execute(stmt)).first() is not None

    async def reviews(self, application_id: UUID) -> list[Review]:
        """The reviews in, in the order they arrived."""
        stmt = (select(review_assignment.c.reviewer_id, review_assignment.c.scores)
                .where(review_assignment.c.application_id == application_id,
                       review_assignment.c.reviewed_at.is_not(None))
                .order_by(review_assignment.c.reviewed_at, review_assignment.c.reviewer_id))
        return [Review(r.reviewer_id, dict(r.scores)) for r in (await self._session.execute(stmt)).all()]

    async def assignments(self, *, application_id: UUID | None = None,
                          reviewer_id: UUID | None = None) -> list[Assignment]:
        stmt = (select(review_assignment, reviewer.c.name.label("reviewer_name"), evaluation.c.program,
                       evaluation.c.call_id, evaluation.c.status)
                .join(reviewer, reviewer.c.id == review_assignment.c.reviewer_id)
                .join(evaluation, evaluation.c.application_id == review_assignment.c.application_id)
                .order_by(review_assignment.c.assigned_at, review_assignment.c.application_id, reviewer.c.name))
        if application_id is not None:
            stmt = stmt.where(review_assignment.c.application_id == application_id)
        if reviewer_id is not None:
            stmt = stmt.where(review_assignment.c.reviewer_id == reviewer_id)
        return [Assignment(**r._mapping) for r in (await self._session.execute(stmt)).all()]

    async def end(self, application_id: UUID, at: datetime) -> int:
        """End the application's assignments still without a review (and not ended); returns how many ended."""
        stmt = (update(review_assignment)
                .where(review_assignment.c.application_id == application_id,
                       review_assignment.c.reviewed_at.is_(None), review_assignment.c.ended_at.is_(None))
                .values(ended_at=at).returning(review_assignment.c.reviewer_id))
        return len((await self._session.execute(stmt)).all())

    async def exclusions(self, application_id: UUID) -> list[Exclusion]:
        stmt = (select(review_exclusion.c.reviewer_id, review_exclusion.c.reason)
                .where(review_exclusion.c.application_id == application_id)
                .order_by(review_exclusion.c.reviewer_id))
        return [Exclusion(r.reviewer_id, r.reason) for r in (await self._session.execute(stmt)).all()]
