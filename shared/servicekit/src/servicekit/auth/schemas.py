"""Request and response bodies of the token endpoint and of client management."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from servicekit.auth.tokens import Role
from servicekit.bounds import Name, SingleLine


class TokenOut(BaseModel):
    """RFC 6749 §5.1."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds until the token expires")
    scope: str | None = Field(default=None, description="The granted scopes, space-separated")


class TokenErrorOut(BaseModel):
    """RFC 6749 §5.2."""

    error: Literal["invalid_request", "invalid_client", "unsupported_grant_type", "invalid_scope"]
    error_description: str = ""


class ClientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    name: Name = Field(description="Who holds the credentials, for people")
    subject: Annotated[str, Field(min_length=1, max_length=100), SingleLine] | None = Field(
        default=None,
        description="partner: the partner id (omitted: a new partner); reviewer: the reviewer id; csp: the CSP's "
                    "id in the inventory (`id` of POST /inventory/csps, a registered CSP's); operator: none")
    scopes: list[Annotated[str, Field(min_length=1, max_length=100), SingleLine]] = Field(default=[], max_length=50)


class ClientOut(BaseModel):
    client_id: str
    role: Role
    subject: str | None
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class ClientCreatedOut(ClientOut):
    client_secret: str = Field(description="Shown in this response only; only its hash is stored")


class ClientPage(BaseModel):
    items: list[ClientOut]
    next_cursor: str | None = Field(description="Pass as `after` for the next page; null on the last page")


# the endpoint reads its form itself (no python-multipart); this describes that body in the OpenAPI document
TOKEN_REQUEST_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": ["grant_type"],
        "properties": {
            "grant_type": {"type": "string", "enum": ["client_credentials"]},
            "client_id": {"type": "string", "description": "Unless sent by HTTP Basic"},
            "client_secret": {"type": "string", "description": "Unless sent by HTTP Basic"},
            "scope": {"type": "string", "description": "Space-separated; default: all the client's scopes"},
        }}}}}}
