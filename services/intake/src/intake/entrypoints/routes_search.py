"""The applications list: a partner sees its own; an operator sees every partner's, and may narrow them by partner,
institution or region besides the filters partners have."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from contracts.events.common import Program, Region
from intake.domain.model import Status
from intake.entrypoints import pagination
from intake.entrypoints.deps import Uow
from intake.entrypoints.pagination import Page
from intake.entrypoints.schemas import ApplicationOut
from servicekit.auth import AUTH_RESPONSES, Forbidden, Principal, require
from servicekit.bounds import SingleLine
from servicekit.http import PROBLEM_RESPONSES

Caller = Annotated[Principal, Depends(require("partner", "operator"))]
Institution = Annotated[str | None, Query(min_length=1, max_length=200, description=(
    "The applicant's institution, matched whole, regardless of case (`kaist` finds `KAIST`)")), SingleLine]
PartnerFilter = Annotated[UUID | None, Query(description=(
    "Operators: one partner's applications. A partner may give only its own id (403 for another's)."))]

router = APIRouter(prefix="/applications", tags=["applications"], responses={**PROBLEM_RESPONSES, **AUTH_RESPONSES})


def _whose(caller: Principal, partner_id: UUID | None) -> UUID | None:
    """The partner whose applications are listed: a partner's own, whatever it asks; for an operator, the one asked
    for, or every partner (None)."""
    if caller.role != "partner":
        return partner_id
    if partner_id not in (None, caller.partner_id):
        raise Forbidden("a partner lists only its own applications: give its own partner_id, or none")
    return caller.partner_id


@router.get("", response_model=Page[ApplicationOut], summary="Applications, newest first",
            description="A partner's own; for an operator, every partner's. Each filter given narrows the list.")
async def list_(caller: Caller, uow: Uow, program: Program | None = None, call_id: UUID | None = None,
                status: Status | None = None, partner_id: PartnerFilter = None, institution: Institution = None,
                region: Region | None = None, limit: pagination.Limit = 50,
                cursor: pagination.CursorParam = None) -> Page[ApplicationOut]:
    apps = await uow.applications.page(partner_id=_whose(caller, partner_id), program=program, call_id=call_id,
                                       status=status.value if status else None, region=region,
                                       institution=institution, after=pagination.decode(cursor), limit=limit + 1)
    return pagination.page([ApplicationOut.of(a) for a in apps], limit, lambda a: (a.created_at, a.id))
