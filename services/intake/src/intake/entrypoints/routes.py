"""The partner API for applications and the offers of freed capacity made to them. A partner sees and changes only
its own applications; the list, which operators read too, is routes_search.py."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends

from intake.domain.commands import (
    AcceptOffer,
    CreateApplication,
    DeclineOffer,
    EditDraft,
    SubmitApplication,
    WithdrawApplication,
)
from intake.domain.errors import ApplicationNotFound
from intake.entrypoints.deps import Bus, PartnerId, Uow, current_client, partner_only
from intake.entrypoints.idempotency import idempotent_route
from intake.entrypoints.schemas import FORM, AcceptOfferIn, ApplicationIn, ApplicationOut, DeclineOfferIn, WithdrawIn
from servicekit.auth import AUTH_RESPONSES
from servicekit.http import PROBLEM_RESPONSES

router = APIRouter(prefix="/applications", tags=["applications"], dependencies=[Depends(partner_only)],
                   responses={**PROBLEM_RESPONSES, **AUTH_RESPONSES}, route_class=idempotent_route(current_client))


@router.post("", status_code=201, response_model=ApplicationOut, summary="Submit an application, or save a draft")
async def create(body: ApplicationIn, partner_id: PartnerId, bus: Bus) -> ApplicationOut:
    form = FORM.validate_python(body.model_dump(exclude={"submit"}))
    cmd = CreateApplication(partner_id=partner_id, form=form, submit=body.submit)
    return ApplicationOut.of(await bus.handle(cmd))


@router.put("/{application_id}", response_model=ApplicationOut, summary="Edit a draft: replace its form",
            description="The whole form, checked as a new application's is; the application stays a draft unless "
                        "the body says `\"submit\": true`. 409 once it was submitted (only a draft can be edited). "
                        "Nothing is published for a draft.")
async def edit(application_id: UUID, body: ApplicationIn, partner_id: PartnerId, bus: Bus) -> ApplicationOut:
    form = FORM.validate_python(body.model_dump(exclude={"submit"}))
    submit = "submit" in body.model_fields_set and body.submit  # an edit keeps the draft unless told otherwise
    cmd = EditDraft(application_id=application_id, partner_id=partner_id, form=form, submit=submit)
    return ApplicationOut.of(await bus.handle(cmd))


@router.post("/{application_id}/submit", response_model=ApplicationOut, summary="Submit a draft")
async def submit(application_id: UUID, partner_id: PartnerId, bus: Bus) -> ApplicationOut:
    cmd = SubmitApplication(application_id=application_id, partner_id=partner_id)
    return ApplicationOut.of(await bus.handle(cmd))


@router.get("/{application_id}", response_model=ApplicationOut, summary="One application and its history")
async def get(application_id: UUID, partner_id: PartnerId, uow: Uow) -> ApplicationOut:
    app = await uow.applications.get(application_id)
    if app is None or app.partner_id != partner_id:
        raise ApplicationNotFound(f"no application {application_id}")
    return ApplicationOut.of(app, await uow.applications.history(application_id))


@router.post("/{application_id}/withdraw", response_model=ApplicationOut, summary="Withdraw an application")
async def withdraw(application_id: UUID, body: WithdrawIn, partner_id: PartnerId, bus: Bus) -> ApplicationOut:
    cmd = WithdrawApplication(application_id=application_id, partner_id=partner_id, reason=body.reason)
    return ApplicationOut.of(await bus.handle(cmd))


OFFER_CLOSED = "409 when there is no open offer to answer: none was made, it expired, or it was answered already."


@router.post("/{application_id}/offer/accept", response_model=ApplicationOut,
             summary="Accept the open offer of freed capacity",
             description="The application becomes `accepted`, and `active` once allocation has placed the GPUs. "
                         + OFFER_CLOSED)
async def accept_offer(application_id: UUID, partner_id: PartnerId, bus: Bus,
                       _: AcceptOfferIn | None = None) -> ApplicationOut:
    cmd = AcceptOffer(application_id=application_id, partner_id=partner_id)
    return ApplicationOut.of(await bus.handle(cmd))


@router.post("/{application_id}/offer/decline", response_model=ApplicationOut,
             summary="Decline the open offer of freed capacity",
             description="The application becomes `declined` and leaves the waitlist for good; the capacity goes to "
                         "the next in line. " + OFFER_CLOSED)
async def decline_offer(application_id: UUID, partner_id: PartnerId, bus: Bus,
                        body: DeclineOfferIn | None = None) -> ApplicationOut:
    cmd = DeclineOffer(application_id=application_id, partner_id=partner_id, reason=body.reason if body else "")
    return ApplicationOut.of(await bus.handle(cmd))
