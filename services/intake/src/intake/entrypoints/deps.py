"""Who is calling, from the access token: the partner a route acts for, the operator role, the client a retry
belongs to. Every route depends on one of these, so no request goes unauthenticated (docs/auth.md)."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends

from servicekit.auth import Principal, authenticated, require

partner_only = require("partner")
operator_only = require("operator")


def current_partner(principal: Annotated[Principal, Depends(partner_only)]) -> UUID:
    """The partner the token acts for; another role is refused with 403 before this is asked."""
    assert principal.partner_id is not None  # a partner principal always carries its partner
    return principal.partner_id


def current_client(principal: Annotated[Principal, Depends(authenticated)]) -> str:
    """The client behind the token: idempotency keys are its own, not shared with its partner's other clients."""
    return principal.client_id


PartnerId = Annotated[UUID, Depends(current_partner)]
