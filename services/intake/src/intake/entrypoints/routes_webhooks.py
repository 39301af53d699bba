"""A partner's webhooks: register one (its destination checked, its signing secret shown once), list, remove, and
read its delivery log. Another partner's webhook is as good as missing: 404."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response

from intake.adapters.egress import Resolver, checked_destination, resolve_host
from intake.adapters.webhook_delivery import WebhookSettings
from intake.config import Settings
from intake.domain.commands import RegisterWebhook, RemoveWebhook
from intake.domain.errors import InvalidInput, WebhookNotFound
from intake.domain.webhooks import DeliveryState
from intake.entrypoints import pagination
from intake.entrypoints.deps import Bus, PartnerId, Uow, current_client, partner_only
from intake.entrypoints.idempotency import idempotent_route
from intake.entrypoints.pagination import Page
from intake.entrypoints.schemas_webhooks import DeliveryOut, WebhookCreatedOut, WebhookIn, WebhookOut
from servicekit.auth import AUTH_RESPONSES
from servicekit.http import PROBLEM_RESPONSES
from servicekit.runtime import runtime_of

router = APIRouter(prefix="/webhooks", tags=["webhooks"], dependencies=[Depends(partner_only)],
                   responses={**PROBLEM_RESPONSES, **AUTH_RESPONSES}, route_class=idempotent_route(current_client))


def destination_resolver() -> Resolver:
    """How registration resolves a URL's host: the system's resolver (tests override this dependency)."""
    return resolve_host


def webhook_settings(request: Request) -> WebhookSettings:
    settings = runtime_of(request.app).settings
    assert isinstance(settings, Settings)  # intake's runtime is built from intake's settings
    return settings.webhooks


@router.post("", status_code=201, response_model=WebhookCreatedOut,
             summary="Register a URL for the status changes of the partner's applications; its secret is shown once")
async def register(body: WebhookIn, partner_id: PartnerId, bus: Bus, response: Response,
                   resolve: Annotated[Resolver, Depends(destination_resolver)],
                   settings: Annotated[WebhookSettings, Depends(webhook_settings)]) -> WebhookCreatedOut:
    checked = await checked_destination(body.url, allow_private=settings.allow_private_networks,
                                        allow_http=settings.allow_http, resolve=resolve)
    if isinstance(checked, list):
        raise InvalidInput(*checked)
    hook = await bus.handle(RegisterWebhook(partner_id, body.url, body.description))
    response.headers["Cache-Control"] = "no-store"
    return WebhookCreatedOut.model_validate(vars(hook))


@router.get("", response_model=Page[WebhookOut], summary="The partner's webhooks, newest first, without secrets")
async def list_(partner_id: PartnerId, uow: Uow, limit: pagination.Limit = 50,
                cursor: pagination.CursorParam = None) -> Page[WebhookOut]:
    found = await uow.webhooks.page(partner_id, after=pagination.decode(cursor), limit=limit + 1)
    return pagination.page([WebhookOut.model_validate(h) for h in found], limit, lambda h: (h.created_at, h.id))


@router.delete("/{webhook_id}", status_code=204, summary="Remove a webhook: what it still had to deliver is cancelled")
async def remove(webhook_id: UUID, partner_id: PartnerId, bus: Bus) -> Response:
    await bus.handle(RemoveWebhook(partner_id, webhook_id))
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryOut],
            summary="The webhook's delivery log, newest first: attempts, last answer, next attempt")
async def deliveries(webhook_id: UUID, partner_id: PartnerId, uow: Uow, state: DeliveryState | None = None,
                     limit: pagination.Limit = 50, cursor: pagination.CursorParam = None) -> Page[DeliveryOut]:
    if not await uow.webhooks.exists(webhook_id, partner_id):
        raise WebhookNotFound(f"no webhook {webhook_id}")
    found = await uow.webhooks.deliveries(webhook_id, state=state.value if state else None,
                                          after=pagination.decode(cursor), limit=limit + 1)
    return pagination.page([DeliveryOut.model_validate(d) for d in found], limit, lambda d: (d.created_at, d.id))
