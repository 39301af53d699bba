"""The token endpoint (RFC 6749 §4.4, client credentials) and operator-only client management, as one router.

Mounted by the service that owns credentials (intake); every other service only verifies the tokens.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qs, unquote_plus

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.auth.dependencies import AUTH_RESPONSES, REALM, require
from servicekit.auth.schemas import (
    TOKEN_REQUEST_BODY,
    ClientCreatedOut,
    ClientIn,
    ClientOut,
    ClientPage,
    TokenErrorOut,
    TokenOut,
)
from servicekit.auth.store import ClientStore, InvalidClientRequest
from servicekit.auth.tables import CredentialTables
from servicekit.auth.tokens import Principal, Role, TokenIssuer
from servicekit.bounds import SingleLine
from servicekit.http import PROBLEM_RESPONSES, FieldError, problem
from servicekit.runtime import runtime_of

EngineOf = Callable[[Request], AsyncEngine]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
Operator = Annotated[Principal, Depends(require("operator"))]
ClientCursor = Annotated[str, Query(max_length=200), SingleLine]


class OAuthError(Exception):
    """An RFC 6749 §5.2 error response."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.status = error, status


def runtime_engine(request: Request) -> AsyncEngine:
    return runtime_of(request.app).engine


def token_router(tables: CredentialTables, issuer: TokenIssuer, *, engine: EngineOf = runtime_engine) -> APIRouter:
    """POST /oauth/token for every client, and POST/GET /clients, POST /clients/{id}/revoke for operators."""
    router = APIRouter()

    def store(request: Request) -> ClientStore:
        return ClientStore(engine(request), tables)

    @router.post("/oauth/token", tags=["auth"], response_model=TokenOut, summary="An access token for a client",
                 responses={400: {"model": TokenErrorOut, "description": "Bad request (RFC 6749 §5.2)"},
                            401: {"model": TokenErrorOut, "description": "Unknown, revoked or wrong client"}},
                 openapi_extra=TOKEN_REQUEST_BODY)
    async def token(request: Request) -> JSONResponse:
        try:
            client_id, secret, form = await _token_request(request)
            client = await store(request).authenticate(client_id, secret)
            if client is None:
                raise OAuthError("invalid_client", "unknown client, wrong secret or revoked client", 401)
            granted = _narrowed(client.principal(), form.get("scope"))
        except OAuthError as exc:
            return _oauth_error(exc)
        issued = issuer.issue(granted)
        body = TokenOut(access_token=issued.token, expires_in=issued.expires_in_s,
                        scope=" ".join(sorted(granted.scopes)) or None)
        return JSONResponse(body.model_dump(exclude_none=True), headers=NO_STORE)

    _client_routes(router, store)
    return router


def _client_routes(router: APIRouter, store: Callable[[Request], ClientStore]) -> None:
    responses = {**PROBLEM_RESPONSES, **AUTH_RESPONSES}

    @router.post("/clients", tags=["clients"], status_code=201, response_model=ClientCreatedOut,
                 responses=responses, summary="Create a client; its secret is in this response only")
    async def create_client(body: ClientIn, _: Operator, request: Request) -> Any:
        try:
            new = await store(request).create(role=body.role, name=body.name, subject=body.subject,
                                              scopes=body.scopes)
        except InvalidClientRequest as exc:
            return problem(422, "Invalid request", f"{exc.field}: {exc}", [FieldError(field=exc.field,
                                                                                      reason=str(exc))])
        return JSONResponse(ClientCreatedOut(**vars(new.client), client_secret=new.client_secret)
                            .model_dump(mode="json"), status_code=201, headers=NO_STORE)

    @router.get("/clients", tags=["clients"], response_model=ClientPage, responses=responses,
                summary="Clients by client id, a page at a time")
    async def list_clients(_: Operator, request: Request, role: Role | None = None, include_revoked: bool = False,
                           after: ClientCursor | None = None,
                           limit: Annotated[int, Query(ge=1, le=200)] = 50) -> ClientPage:
        clients = await store(request).find(role=role, include_revoked=include_revoked, after=after, limit=limit)
        next_cursor = clients[-1].client_id if len(clients) == limit else None
        return ClientPage(items=[ClientOut(**vars(c)) for c in clients], next_cursor=next_cursor)

    @router.post("/clients/{client_id}/revoke", tags=["clients"], response_model=ClientOut, responses=responses,
                 summary="Revoke a client: it gets no new token; tokens it holds expire by their TTL")
    async def revoke_client(client_id: str, _: Operator, request: Request) -> Any:
        client = await store(request).revoke(client_id)
        if client is None:
            return problem(404, "ClientNotFound", client_id)
        return ClientOut(**vars(client))


async def _token_request(request: Request) -> tuple[str, str, dict[str, str]]:
    """The client's id and secret (HTTP Basic or the form, never both) and the form's other parameters."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded")
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    repeated = sorted(name for name, values in parsed.items() if len(values) > 1)
    if repeated:
        raise OAuthError("invalid_request", f"parameters given more than once: {', '.join(repeated)}")
    form = {name: values[0] for name, values in parsed.items()}
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is missing")
    if grant_type != "client_credentials":
        raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r}: only client_credentials")
    basic = _basic_credentials(request.headers.get("authorization"))
    in_form = "client_id" in form or "client_secret" in form
    if basic and in_form:
        raise OAuthError("invalid_request", "the client authenticated twice: HTTP Basic and the form")
    client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
    if not client_id or not secret:
        raise OAuthError("invalid_client", "no client credentials: HTTP Basic or client_id and client_secret", 401)
    return client_id, secret, form


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if header is None:
        return None
    scheme, _sep, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError("invalid_client", f"unsupported authentication scheme {scheme!r}", 401)
    try:
        client_id, colon, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "the Basic credentials are not base64 of id:secret", 401) from None
    if not colon:
        raise OAuthError("invalid_client", "the Basic credentials are not base64 of id:secret", 401)
    # RFC 6749 §2.3.1: the id and secret are form-urlencoded before they are joined
    return unquote_plus(client_id), unquote_plus(secret)


def _narrowed(principal: Principal, scope: str | None) -> Principal:
    """A token for the requested scopes, which must be the client's own; all of them when none is asked."""
    if scope is None:
        return principal
    requested = frozenset(scope.split())
    unknown = requested - principal.scopes
    if unknown:
        raise OAuthError("invalid_scope", f"not granted to this client: {' '.join(sorted(unknown))}")
    return dataclasses.replace(principal, scopes=requested)


def _oauth_error(exc: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
    return JSONResponse(TokenErrorOut(error=exc.error, error_description=str(exc)).model_dump(),
                        status_code=exc.status, headers=headers)
