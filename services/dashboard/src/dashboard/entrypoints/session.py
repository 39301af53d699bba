"""Operators' sign-in: credentials exchanged for an access token, kept in an HttpOnly, SameSite=Strict cookie.

`POST /session` takes an operator client's id and secret, asks the issuer (intake's `POST /oauth/token`) for a token
and, if the token is an operator's, sets it as the session cookie for as long as the token lives. The page then
reads `GET /session` for who it is and the CSRF token it sends back with every action (`X-CSRF-Token`).
`DELETE /session` signs out. Nobody but an operator gets a session.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, cast

import httpx
import jwt
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from dashboard.entrypoints.upstream import upstream_of
from servicekit.auth import (
    AUTH_RESPONSES,
    CSRF_HEADER,
    Operator,
    SessionCookie,
    TokenError,
    authenticated,
)
from servicekit.auth.dependencies import verifier_of
from servicekit.http import PROBLEM_RESPONSES, FieldError, problem

router = APIRouter(prefix="/session", tags=["session"], responses={**PROBLEM_RESPONSES, **AUTH_RESPONSES})
CLIENT_ID = r"^[A-Za-z0-9._~-]{1,200}$"


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: str = Field(pattern=CLIENT_ID, description="The operator client's id.")
    client_secret: str = Field(min_length=1, max_length=500, description="Its secret.")


class SessionOut(BaseModel):
    client_id: str
    role: str
    expires_at: datetime | None
    csrf_header: str = CSRF_HEADER
    csrf_token: str


def session_cookie(request: Request) -> SessionCookie:
    return cast(SessionCookie, request.app.state.auth_session)


def bearer_or_cookie(request: Request) -> str:
    """The caller's own access token: the Bearer header's, or the session cookie's."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(session_cookie(request).name, "")


CallerToken = Annotated[str, Depends(bearer_or_cookie)]


@router.post("", response_model=SessionOut, summary="Sign in: an operator's credentials for a session cookie",
             responses={401: {"description": "Wrong client id or secret"},
                        403: {"description": "The client is not an operator's"},
                        502: {"description": "The issuer did not answer"}})
async def sign_in(body: SignIn, request: Request) -> Response:
    try:
        answer = await upstream_of(request).token(body.client_id, body.client_secret)
    except httpx.HTTPError:
        return problem(502, "Bad Gateway", "the issuer of tokens (intake) did not answer")
    if answer.status_code in (400, 401):
        return problem(401, "Not authenticated", "the client id or secret is wrong, or the client is revoked",
                       [FieldError(field="client_secret", reason="invalid_client")])
    if answer.status_code != 200:
        return problem(502, "Bad Gateway", f"the issuer answered {answer.status_code}")
    granted = answer.json()
    token = str(granted.get("access_token", ""))
    try:
        principal = await verifier_of(request.app).authenticate(token)
    except TokenError:
        return problem(502, "Bad Gateway", "the issuer's token does not verify here")
    if principal.role != "operator":
        return problem(403, "Forbidden", f"a {principal.role} may not sign in to the dashboard; operators only",
                       [FieldError(field="client_id", reason="not_an_operator")])
    ttl = int(granted.get("expires_in", 900))
    cookie = session_cookie(request)
    out = SessionOut(client_id=principal.client_id, role=principal.role,
                     expires_at=datetime.now(UTC) + timedelta(seconds=ttl), csrf_token=cookie.csrf_token(token))
    response = Response(out.model_dump_json(), media_type="application/json",
                        headers={"Cache-Control": "no-store"})
    response.set_cookie(cookie.name, token, max_age=ttl, path="/", httponly=True, samesite="strict",
                        secure=cookie.secure)
    return response


@router.get("", response_model=SessionOut, dependencies=[Depends(authenticated)],
            summary="Who is signed in, and the CSRF token the page sends with each action")
async def current(request: Request, caller: Operator, token: CallerToken) -> Response:
    # the token was verified on the way in: its expiry is read, not checked again
    exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    out = SessionOut(client_id=caller.client_id, role=caller.role,
                     expires_at=datetime.fromtimestamp(exp, UTC) if isinstance(exp, int) else None,
                     csrf_token=session_cookie(request).csrf_token(token))
    return Response(out.model_dump_json(), media_type="application/json", headers={"Cache-Control": "no-store"})


@router.delete("", status_code=204, response_class=Response, dependencies=[Depends(authenticated)],
               summary="Sign out: the session cookie is dropped")
async def sign_out(request: Request, _: Operator) -> Response:
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    cookie = session_cookie(request)
    response.delete_cookie(cookie.name, path="/", httponly=True, samesite="strict", secure=cookie.secure)
    return response
