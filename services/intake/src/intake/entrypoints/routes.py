"""The partner API. A partner sees and changes only its own applications.

Until per-partner credentials land, the partner identifies itself with the `X-Partner-Id` header.
"""
from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request

from intake.adapters.unit_of_work import IntakeUnitOfWork
from intake.domain.commands import SubmitApplication, WithdrawApplication
from intake.domain.errors import ApplicationNotFound
from intake.domain.model import Applicant, Application, Status
from intake.entrypoints.schemas import ApplicationIn, ApplicationOut, WithdrawIn
from servicekit.http import PROBLEM_RESPONSES
from servicekit.runtime import runtime_of

router = APIRouter(prefix="/applications", tags=["applications"], responses=PROBLEM_RESPONSES)
PartnerId = Annotated[UUID, Header(alias="X-Partner-Id", description="The calling partner")]


def _out(app: Application, history: list[dict[str, Any]] | None = None) -> ApplicationOut:
    return ApplicationOut.model_validate({**vars(app), "applicant": vars(app.applicant),
                                          "history": history or []})


@router.post("", status_code=201, response_model=ApplicationOut, summary="Submit an application")
async def submit(body: ApplicationIn, partner_id: PartnerId, request: Request) -> ApplicationOut:
    fields = body.model_dump(exclude={"applicant"})
    cmd = SubmitApplication(partner_id=partner_id, applicant=Applicant(**body.applicant.model_dump()), **fields)
    return _out(await runtime_of(request.app).bus.handle(cmd))


@router.get("/{application_id}", response_model=ApplicationOut, summary="One application and its history")
async def get(application_id: UUID, partner_id: PartnerId, request: Request) -> ApplicationOut:
    uow: IntakeUnitOfWork
    async with runtime_of(request.app).uow_factory() as uow:  # type: ignore[assignment]
        app = await uow.applications.get(application_id)
        if app is None or app.partner_id != partner_id:
            raise ApplicationNotFound(str(application_id))
        return _out(app, await uow.applications.history(application_id))


@router.get("", response_model=list[ApplicationOut], summary="The partner's applications, newest first")
async def list_(partner_id: PartnerId, request: Request, program: str | None = None,
                status: Status | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                ) -> list[ApplicationOut]:
    async with runtime_of(request.app).uow_factory() as uow:
        apps = await uow.applications.list(partner_id=partner_id, program=program,  # type: ignore[attr-defined]
                                           status=status.value if status else None, limit=limit)
    return [_out(a) for a in apps]


@router.post("/{application_id}/withdraw", response_model=ApplicationOut, summary="Withdraw an application")
async def withdraw(application_id: UUID, body: WithdrawIn, partner_id: PartnerId,
                   request: Request) -> ApplicationOut:
    cmd = WithdrawApplication(application_id=application_id, partner_id=partner_id, reason=body.reason)
    return _out(await runtime_of(request.app).bus.handle(cmd))
