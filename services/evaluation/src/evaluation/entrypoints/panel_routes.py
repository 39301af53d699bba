"""Operators register reviewers and publish policy versions; reviewers see their assignments and submit reviews.

A reviewer calls with a token of a reviewer client: intake's `POST /clients`, subject = the reviewer's id here.
"""
from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter, Depends, Request

from evaluation.adapters.unit_of_work import EvaluationUnitOfWork
from evaluation.domain.commands import PublishPolicy, RegisterReviewer, SubmitReview
from evaluation.domain.errors import PolicyNotFound, ReviewerNotFound
from evaluation.domain.policy import Policy
from evaluation.entrypoints.deps import Authenticated, CallingReviewer, OperatorOnly, operator_or_the_reviewer
from evaluation.entrypoints.panel_schemas import (
    AssignmentOut,
    PolicyIn,
    PolicyOut,
    ReviewerIn,
    ReviewerOut,
    ReviewIn,
    ReviewOut,
)
from evaluation.entrypoints.routes import RESPONSES
from servicekit.runtime import runtime_of

reviewers = APIRouter(tags=["reviewers"], responses=RESPONSES, dependencies=[Authenticated])
policies = APIRouter(prefix="/policies", tags=["policies"], responses=RESPONSES, dependencies=[OperatorOnly])


def _uow(request: Request) -> EvaluationUnitOfWork:
    return runtime_of(request.app).uow_factory()  # type: ignore[return-value]


def policy_out(policy: Policy) -> PolicyOut:
    return PolicyOut.model_validate({"version": policy.version, "effective_from": policy.effective_from,
                                     **policy.rules()})


@reviewers.post("/reviewers", status_code=201, response_model=ReviewerOut, dependencies=[OperatorOnly],
                summary="Register a reviewer; waiting applications get their panels if they now can")
async def register_reviewer(body: ReviewerIn, request: Request) -> ReviewerOut:
    """The reviewer signs in with a client that an operator creates at intake's `POST /clients` with
    `{"role": "reviewer", "subject": <the id returned here>}`: its tokens then act for this reviewer."""
    cmd = RegisterReviewer(name=body.name, institution=body.institution, expertise=tuple(body.expertise),
                           active=body.active)
    return ReviewerOut.model_validate(vars(await runtime_of(request.app).bus.handle(cmd)))


@reviewers.get("/reviewers", response_model=list[ReviewerOut], dependencies=[OperatorOnly],
               summary="Every reviewer, by name")
async def list_reviewers(request: Request) -> list[ReviewerOut]:
    async with _uow(request) as uow:
        return [ReviewerOut.model_validate(vars(r)) for r in await uow.reviewers.list()]


@reviewers.get("/reviewers/{reviewer_id}/assignments", response_model=list[AssignmentOut],
               dependencies=[Depends(operator_or_the_reviewer)],
               summary="A reviewer's assignments, oldest first, with the reviews it has submitted")
async def assignments(reviewer_id: UUID, request: Request) -> list[AssignmentOut]:
    async with _uow(request) as uow:
        if await uow.reviewers.get(reviewer_id) is None:
            raise ReviewerNotFound(f"no reviewer {reviewer_id}")
        found = await uow.panels.assignments(reviewer_id=reviewer_id)
    return [AssignmentOut.model_validate(vars(a)) for a in found]


@reviewers.post("/reviews", status_code=201, response_model=ReviewOut,
                summary="An assigned reviewer's criterion scores (0-100 each) for one application; the token names the "
                        "reviewer")
async def submit_review(body: ReviewIn, reviewer_id: CallingReviewer, request: Request) -> ReviewOut:
    cmd = SubmitReview(application_id=body.application_id, reviewer_id=reviewer_id,
                       scores=body.scores.model_dump(), at=datetime.now(UTC))
    result = await runtime_of(request.app).bus.handle(cmd)
    return ReviewOut(application_id=body.application_id, reviewer_id=reviewer_id, scores=body.scores,
                     reviews_received=result.reviews_received, score_so_far=result.score)


@policies.get("", response_model=list[PolicyOut], summary="Every policy version, the latest start first")
async def list_policies(request: Request) -> list[PolicyOut]:
    async with _uow(request) as uow:
        return [policy_out(p) for p in await uow.policies.list()]


@policies.get("/{version}", response_model=PolicyOut, summary="One policy version")
async def get_policy(version: str, request: Request) -> PolicyOut:
    async with _uow(request) as uow:
        found = await uow.policies.get(version)
    if found is None:
        raise PolicyNotFound(f"no policy version {version}")
    return policy_out(found)


@policies.post("", status_code=201, response_model=PolicyOut,
               summary="A new version from a time on (default now); rules left out carry over from the latest")
async def publish_policy(body: PolicyIn, request: Request) -> PolicyOut:
    changes = body.model_dump(exclude={"version", "effective_from"}, exclude_none=True)
    cmd = PublishPolicy(version=body.version, effective_from=body.effective_from, changes=changes)
    return policy_out(await runtime_of(request.app).bus.handle(cmd))
