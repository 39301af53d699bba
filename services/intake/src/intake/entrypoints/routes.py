"""The partner API for applications and the offers of freed capacity made to them. A partner sees and changes only
its own applications."""
from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import TypeAdapter

from contracts.events.common import Program
from intake.domain.commands import (
    AcceptOffer,
    CreateApplication,
    DeclineOffer,
    SubmitApplication,
    WithdrawApplication,
)
from intake.domain.errors import ApplicationNotFound
from intake.domain.forms import Form
from intake.domain.model import Application, Status
from intake.entrypoints import pagination
from intake.entrypoints.deps import Bus, PartnerId, Uow, current_client, partner_only
from intake.entrypoints.idempotency import idempotent_route
from intake.entrypoints.pagination import Page
from intake.entrypoints.schemas import AcceptOfferIn, ApplicationIn, ApplicationOut, DeclineOfferIn, WithdrawIn
from servicekit.auth import AUTH_RESPONSES
from servicekit.http import PROBLEM_RESPONSES

router = APIRouter(prefix="/applications", tags=["applications"], dependencies=[Depends(partner_only)],
                   responses={**PROBLEM_RESPONSES, **AUTH_RESPONSES}, route_class=idempotent_route(current_client))
FORM = TypeAdapter(Form)


def _out(app: Application, history: list[dict[str, Any]] | None = None) -> ApplicationOut:
    return ApplicationOut.model_validate({
        **dataclasses.asdict(app.form), **{k: v for k, v in vars(app).items() if k not in ("form", "offer")},
        "history": history or [], "offer": vars(app.offer) if app.offer is not None else None})


@router.post("", status_code=201, response_model=ApplicationOut, summary="Submit an application, or save a draft")
async def create(body: ApplicationIn, partner_id: PartnerId, bus: Bus) -> ApplicationOut:
    form = FORM.validate_python(body.model_dump(exclude={"submit"}))
    cmd = CreateApplication(partner_id=partner_id, form=form, submit=body.submit)
    return _out(await bus.handle(cmd))


@router.post("/{application_id}/submit", response_model=ApplicationOut, summary="Submit a draft")
async def submit(application_id: UUID, partner_id: PartnerId, bus: Bus) -> ApplicationOut:
    cmd = SubmitApplication(application_id=application_id, partner_id=partner_id)
    return _out(await bus.handle(cmd))


@router.get("/{application_id}", response_model=ApplicationOut, summary="One application and its history")
async def get(application_id: UUID, partner_id: PartnerId, uow: Uow) -> ApplicationOut:
    app = await uow.applications.get(application_id)
    if app is None or app.partner_id != partner_id:
        raise ApplicationNotFound(f"no application {application_id}")
    return _out(app, await uow.applications.history(application_id))


@router.get("", response_model=Page[ApplicationOut], summary="The partner's applications, newest first")
async def list_(partner_id: PartnerId, uow: Uow, program: Program | None = None, call_id: UUID | None = None,
                status: Status | None = None, limit: pagination.Limit = 50,
                cursor: pagination.CursorParam = None) -> Page[ApplicationOut]:
    apps = await uow.applications.page(partner_id=partner_id, program=program, call_id=call_id,
                                       status=status.value if status else None, after=pagination.decode(cursor),
                                       limit=limit + 1)
    return pagination.page([_out(a) for a in apps], limit, lambda a: (a.created_at, a.id))


@router.post("/{application_id}/withdraw", response_model=ApplicationOut, summary="Withdraw an application")
async def withdraw(application_id: UUID, body: WithdrawIn, partner_id: PartnerId, bus: Bus) -> ApplicationOut:
    cmd = WithdrawApplication(application_id=application_id, partner_id=partner_id, reason=body.reason)
    return _out(await bus.handle(cmd))


OFFER_CLOSED = "409 when there is no open offer to answer: none was made, it expired, or it was answered already."


@router.post("/{application_id}/offer/accept", response_model=ApplicationOut,
             summary="Accept the open offer of freed capacity",
             description="The application becomes `accepted`, and `active` once allocation has placed the GPUs. "
                         + OFFER_CLOSED)
async def accept_offer(application_id: UUID, partner_id: PartnerId, bus: Bus,
                       _: AcceptOfferIn | None = None) -> ApplicationOut:
    cmd = AcceptOffer(application_id=application_id, partner_id=partner_id)
    return _out(await bus.handle(cmd))


@router.post("/{application_id}/offer/decline", response_model=ApplicationOut,
             summary="Decline the open offer of freed capacity",
             description="The application becomes `declined` and leaves the waitlist for good; the capacity goes to "
                         "the next in line. " + OFFER_CLOSED)
async def decline_offer(application_id: UUID, partner_id: PartnerId, bus: Bus,
                        body: DeclineOfferIn | None = None) -> ApplicationOut:
    cmd = DeclineOffer(application_id=application_id, partner_id=partner_id, reason=body.reason if body else "")
    return _out(await bus.handle(cmd))
