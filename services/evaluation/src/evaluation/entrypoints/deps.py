"""What a route reaches (the bus, the clock, a unit of work for reads) and who may call what: the roles of
evaluation's endpoints, from the caller's access token (docs/auth.md).

A reviewer's token carries evaluation's own reviewer id as its subject, so a reviewer is never named by the request.
"""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends

from evaluation.adapters.unit_of_work import SqlEvaluationUnitOfWork
from servicekit.auth import Forbidden, Principal, authenticated, require
from servicekit.runtime import Bus as Bus
from servicekit.runtime import Now as Now
from servicekit.runtime import unit_of_work

Uow = Annotated[SqlEvaluationUnitOfWork, Depends(unit_of_work(SqlEvaluationUnitOfWork))]

# on every router, so that a route added without a role check still wants a valid token
Authenticated = Depends(authenticated)
OperatorOrReviewer = Annotated[Principal, Depends(require("operator", "reviewer"))]


async def calling_reviewer(caller: Annotated[Principal, Depends(require("reviewer"))]) -> UUID:
    """The reviewer the token acts for: a review is always its own."""
    assert caller.reviewer_id is not None  # a reviewer principal always carries one
    return caller.reviewer_id


async def operator_or_the_reviewer(reviewer_id: UUID, caller: OperatorOrReviewer) -> Principal:
    """An operator, or the reviewer named in the path itself."""
    if caller.role == "reviewer" and caller.reviewer_id != reviewer_id:
        raise Forbidden("a reviewer sees only its own assignments")
    return caller


CallingReviewer = Annotated[UUID, Depends(calling_reviewer)]
