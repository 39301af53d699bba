"""The evaluation API: each application's eligibility, score and explanation, its panel, re-checks, and rounds."""
from __future__ import annotations

import dataclasses
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from evaluation.domain.commands import RecheckEligibility
from evaluation.domain.errors import EvaluationNotFound, NotFound
from evaluation.domain.model import Evaluation, Recheck
from evaluation.entrypoints.deps import Authenticated, Bus, Now, OperatorOrReviewer, Uow
from evaluation.entrypoints.schemas import (
    EvaluationOut,
    EvaluationQuery,
    PanelOut,
    RecheckIn,
    RecheckOut,
    RecheckResultOut,
    RoundOut,
)
from servicekit.auth import AUTH_RESPONSES, OPERATOR_ONLY, Forbidden
from servicekit.http import PROBLEM_RESPONSES

RESPONSES: dict[int | str, dict[str, Any]] = {**PROBLEM_RESPONSES, **AUTH_RESPONSES}
router = APIRouter(prefix="/evaluations", tags=["evaluations"], responses=RESPONSES, dependencies=[Authenticated])
rounds = APIRouter(prefix="/rounds", tags=["rounds"], responses=RESPONSES, dependencies=[OPERATOR_ONLY])


def recheck_out(done: Recheck) -> RecheckOut:
    return RecheckOut.model_validate({"at": done.at, "policy_version": done.policy_version, "changes": done.changes,
                                      "passed": done.passed, "rules": [vars(c) for c in done.checks],
                                      "offer_id": done.offer_id})


def evaluation_out(result: Evaluation) -> EvaluationOut:
    return EvaluationOut.model_validate({
        **dataclasses.asdict(result.submission), **{k: getattr(result, k) for k in (
            "status", "score", "policy_version", "eligibility_policy_version", "reviews_received",
            "reviews_required", "score_final", "facts", "failed_rules", "evaluated_at")},
        "components": [vars(c) for c in result.components], "criteria": [vars(c) for c in result.criteria],
        "rules": [vars(c) for c in result.checks], "rechecks": [recheck_out(r) for r in result.rechecks],
    })


@router.get("/{application_id}", response_model=EvaluationOut,
            summary="One application's evaluation: for operators, and for the reviewers on its panel")
async def get(application_id: UUID, caller: OperatorOrReviewer, uow: Uow) -> EvaluationOut:
    # checked before the evaluation is read: an unknown id and another panel's look the same to a reviewer
    if caller.role == "reviewer" and not await uow.panels.assignments(application_id=application_id,
                                                                      reviewer_id=caller.reviewer_id):
        raise Forbidden(f"reviewer {caller.reviewer_id} is not on the panel of application {application_id}")
    result = await uow.evaluations.get(application_id)
    if result is None:
        raise EvaluationNotFound(f"no evaluation for application {application_id}")
    return evaluation_out(result)


@router.get("", response_model=list[EvaluationOut], dependencies=[OPERATOR_ONLY],
            summary="Evaluations, newest first (a reviewer lists its own through its assignments)")
async def list_(query: Annotated[EvaluationQuery, Query()], uow: Uow) -> list[EvaluationOut]:
    results = await uow.evaluations.find(program=query.program, status=query.status, call_id=query.call_id,
                                         limit=query.limit)
    return [evaluation_out(r) for r in results]


@router.get("/{application_id}/panel", response_model=PanelOut, dependencies=[OPERATOR_ONLY],
            summary="The reviewers assigned (with their reviews) and those excluded for a conflict of interest")
async def panel(application_id: UUID, uow: Uow) -> PanelOut:
    if await uow.evaluations.get(application_id) is None:
        raise EvaluationNotFound(f"no evaluation for application {application_id}")
    assigned = await uow.panels.assignments(application_id=application_id)
    excluded = await uow.panels.exclusions(application_id)
    return PanelOut.model_validate({"application_id": application_id, "assigned": [vars(a) for a in assigned],
                                    "excluded": [vars(e) for e in excluded]})


@router.post("/{application_id}/recheck", response_model=RecheckResultOut, dependencies=[OPERATOR_ONLY],
             summary="Re-check eligibility at award time; a rule failing now rejects the application")
async def recheck(application_id: UUID, body: RecheckIn, bus: Bus, clock: Now) -> RecheckResultOut:
    cmd = RecheckEligibility(application_id=application_id, at=body.at or clock(), company_size=body.company_size,
                             sector=body.sector)
    result, done = await bus.handle(cmd)
    return RecheckResultOut(recheck=recheck_out(done), evaluation=evaluation_out(result))


@rounds.get("/{call_id}", response_model=RoundOut, summary="A closed call's round: its version and what is left")
async def get_round(call_id: UUID, uow: Uow) -> RoundOut:
    item = await uow.rounds.get(call_id)
    if item is None:
        raise NotFound(f"call {call_id} has not closed (or is unknown)")
    statuses = await uow.evaluations.statuses(item.application_ids)
    undecided = [a for a in item.application_ids if not ((status := statuses.get(a)) and status.settled)]
    return RoundOut.model_validate({**vars(item), "undecided": undecided})
