"""Operators register reviewers; reviewers see their assignments and submit reviews.

A reviewer calls with a token of a reviewer client: intake's `POST /clients`, subject = the reviewer's id here.
"""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends

from evaluation.domain.commands import RegisterReviewer, SubmitReview
from evaluation.domain.errors import ReviewerNotFound
from evaluation.entrypoints.deps import Authenticated, Bus, CallingReviewer, Now, Uow, operator_or_the_reviewer
from evaluation.entrypoints.routes import RESPONSES
from evaluation.entrypoints.schemas_panels import (
    AssignmentOut,
    ReviewerIn,
    ReviewerOut,
    ReviewIn,
    ReviewOut,
)
from servicekit.auth import OPERATOR_ONLY

reviewers = APIRouter(tags=["reviewers"], responses=RESPONSES, dependencies=[Authenticated])


@reviewers.post("/reviewers", status_code=201, response_model=ReviewerOut, dependencies=[OPERATOR_ONLY],
                summary="Register a reviewer; waiting applications get their panels if they now can")
async def register_reviewer(body: ReviewerIn, bus: Bus) -> ReviewerOut:
    """The reviewer signs in with a client that an operator creates at intake's `POST /clients` with
    `{"role": "reviewer", "subject": <the id returned here>}`: its tokens then act for this reviewer."""
    cmd = RegisterReviewer(name=body.name, institution=body.institution, expertise=tuple(body.expertise),
                           active=body.active)
    return ReviewerOut.model_validate(vars(await bus.handle(cmd)))


@reviewers.get("/reviewers", response_model=list[ReviewerOut], dependencies=[OPERATOR_ONLY],
               summary="Every reviewer, by name")
async def list_reviewers(uow: Uow) -> list[ReviewerOut]:
    return [ReviewerOut.model_validate(vars(r)) for r in await uow.reviewers.find()]


@reviewers.get("/reviewers/{reviewer_id}/assignments", response_model=list[AssignmentOut],
               dependencies=[Depends(operator_or_the_reviewer)],
               summary="A reviewer's assignments, oldest first, with the reviews it has submitted")
async def assignments(reviewer_id: UUID, uow: Uow) -> list[AssignmentOut]:
    if await uow.reviewers.get(reviewer_id) is None:
        raise ReviewerNotFound(f"no reviewer {reviewer_id}")
    found = await uow.panels.assignments(reviewer_id=reviewer_id)
    return [AssignmentOut.model_validate(vars(a)) for a in found]


@reviewers.post("/reviews", status_code=201, response_model=ReviewOut,
                summary="An assigned reviewer's criterion scores (0-100 each) for one application; the token names the "
                        "reviewer")
async def submit_review(body: ReviewIn, reviewer_id: CallingReviewer, bus: Bus, clock: Now) -> ReviewOut:
    cmd = SubmitReview(application_id=body.application_id, reviewer_id=reviewer_id,
                       scores=body.scores.model_dump(), at=clock())
    result = await bus.handle(cmd)
    return ReviewOut(application_id=body.application_id, reviewer_id=reviewer_id, scores=body.scores,
                     reviews_received=result.reviews_received, score_so_far=result.score)
