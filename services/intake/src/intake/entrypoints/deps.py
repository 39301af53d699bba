"""What a route depends on. Who is calling, from the access token: the partner a route acts for, the client a retry
belongs to (every route depends on one of these or on OPERATOR_ONLY, so no request goes unauthenticated,
docs/auth.md). And what it reaches: the bus for changes, a unit of work for reads."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from intake.adapters.unit_of_work import SqlIntakeUnitOfWork
from servicekit.auth import Principal, authenticated, require
from servicekit.bus import MessageBus
from servicekit.runtime import runtime_of, unit_of_work

partner_only = require("partner")
# each one a coroutine: FastAPI runs a plain function in its thread pool, a thread hop per request


async def current_partner(principal: Annotated[Principal, Depends(partner_only)]) -> UUID:
    """The partner the token acts for; another role is refused with 403 before this is asked."""
    assert principal.partner_id is not None  # a partner principal always carries its partner
    return principal.partner_id


async def current_client(principal: Annotated[Principal, Depends(authenticated)]) -> str:
    """The client behind the token: idempotency keys are its own, not shared with its partner's other clients."""
    return principal.client_id


async def message_bus(request: Request) -> MessageBus:
    return runtime_of(request.app).bus


Bus = Annotated[MessageBus, Depends(message_bus)]
PartnerId = Annotated[UUID, Depends(current_partner)]
Uow = Annotated[SqlIntakeUnitOfWork, Depends(unit_of_work(SqlIntakeUnitOfWork))]
