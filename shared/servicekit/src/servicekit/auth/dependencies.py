"""FastAPI dependencies: who is calling (`authenticated`) and whether the role may (`require`).

`install_auth(app, verifier)` once in create_app; then `Depends(authenticated)` or `Depends(require("operator"))`
on a route or a router.

A service that serves a web page (the dashboard) also takes the token from a session cookie:
`install_auth(app, verifier, session=SessionCookie(...))`. The cookie is HttpOnly and SameSite=Strict, and a request
that changes something on the strength of the cookie must also carry the session's CSRF token in `X-CSRF-Token`
(a value the page reads from its own origin and another site cannot) and, if the browser sent one, an `Origin` of
the service's own.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from servicekit.auth.tokens import Principal, Role, TokenError, TokenMissing
from servicekit.auth.verifier import TokenVerifier
from servicekit.http import FieldError, Problem, problem

REALM = "gpu-platform"
# declares the scheme in the OpenAPI document; the header itself is read below, to tell each failure apart
BEARER = HTTPBearer(auto_error=False, bearerFormat="JWT", scheme_name="bearer",
                    description="An access token from the issuer's POST /oauth/token (client credentials).")
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No access token, or one that is expired, forged or malformed"},
    403: {"model": Problem, "description": "The caller's role may not do this"},
}


class Unauthenticated(Exception):
    def __init__(self, error: TokenError) -> None:
        super().__init__(error.detail)
        self.error = error


class Forbidden(Exception):
    """The token is good, the role is not allowed here."""


CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class SessionCookie:
    """Where a browser's access token lives: an HttpOnly, SameSite=Strict cookie of this name (`secure` behind TLS)."""

    name: str = "platform_session"
    secure: bool = True

    def csrf_token(self, access_token: str) -> str:
        """The session's CSRF token: derived from the access token, which the page's script never sees, so that
        only a page that asked this origin for it (`GET /session`) can send it back."""
        digest = hmac.new(b"platform-csrf", access_token.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def install_auth(app: FastAPI, verifier: TokenVerifier, *, session: SessionCookie | None = None) -> None:
    """Make the verifier known to `authenticated` and turn its refusals into problem responses; a verifier
    that trusts the issuer's published keys fetches them when the app starts. With `session`, a request without an
    Authorization header is authenticated by the session cookie (and, if it changes anything, its CSRF token)."""
    app.state.auth_verifier = verifier
    app.state.auth_session = session
    app.add_exception_handler(Unauthenticated, _unauthenticated)
    app.add_exception_handler(Forbidden, _forbidden)
    remote = verifier.remote
    if remote is not None:
        @asynccontextmanager
        async def fetch_keys(_: Any) -> AsyncIterator[None]:
            await remote.start()
            yield

        # FastAPI runs an included router's lifespan inside the app's own
        app.include_router(APIRouter(lifespan=fetch_keys))


def verifier_of(app: Any) -> TokenVerifier:
    verifier: TokenVerifier | None = getattr(app.state, "auth_verifier", None)
    if verifier is None:
        raise RuntimeError("install_auth(app, verifier) was not called: the app cannot check access tokens")
    return verifier


async def authenticated(request: Request,
                        _: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None) -> Principal:
    """The caller named by the `Authorization: Bearer <token>` header (or the session cookie where the app has one),
    or 401."""
    verifier = verifier_of(request.app)
    header = request.headers.get("authorization")
    session: SessionCookie | None = getattr(request.app.state, "auth_session", None)
    if header is None and session is not None and session.name in request.cookies:
        return await _by_cookie(request, verifier, session)
    if header is None:
        raise Unauthenticated(TokenMissing("the Authorization header is missing"))
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(TokenMissing("the Authorization header holds no Bearer token"))
    try:
        return await verifier.authenticate(token.strip())
    except TokenError as exc:
        raise Unauthenticated(exc) from exc


async def _by_cookie(request: Request, verifier: TokenVerifier, session: SessionCookie) -> Principal:
    token = request.cookies[session.name]
    try:
        principal = await verifier.authenticate(token)
    except TokenError as exc:
        raise Unauthenticated(exc) from exc
    if request.method not in SAFE_METHODS:
        origin = request.headers.get("origin")
        if origin is not None and origin != _own_origin(request):
            raise Forbidden(f"a request from {origin[:200]} may not act with this site's session")
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session.csrf_token(token).encode()):
            raise Forbidden(f"the {CSRF_HEADER} header is missing or does not match the session")
    return principal


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets only these roles through (403 for the others) and gives the Principal."""
    allowed = frozenset(roles)

    async def role_allowed(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"a {principal.role} may not do this; allowed: {', '.join(sorted(allowed))}")
        return principal

    return role_allowed


# The one way to say "operators only": on a router or a route (`dependencies=[OPERATOR_ONLY]`), or as a parameter
# that gives the operator's Principal (`caller: Operator`).
operator_only = require("operator")
OPERATOR_ONLY = Depends(operator_only)
Operator = Annotated[Principal, OPERATOR_ONLY]


async def _unauthenticated(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Unauthenticated)
    # the fixed code and sentence of the refusal's class only: the error's own message may carry the library's
    reason, detail = exc.error.reason, exc.error.detail
    response = problem(401, "Not authenticated", detail, [FieldError(field="Authorization", reason=reason)])
    # RFC 6750 §3: no error code when the request carried no token at all
    challenge = f'Bearer realm="{REALM}"'
    if reason != TokenMissing.reason:
        challenge += f', error="invalid_token", error_description="{reason}"'
    response.headers["WWW-Authenticate"] = challenge
    return response


async def _forbidden(_: Request, exc: Exception) -> JSONResponse:
    return problem(403, "Forbidden", str(exc))
