"""Access tokens: who the caller is (Principal), signed by the issuer and verified statelessly by every service.

EdDSA (Ed25519) JWTs with the claims of RFC 9068 (`typ: at+jwt`, sub = client_id for client credentials).
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal, cast, get_args
from uuid import UUID

import jwt

from servicekit.auth.keys import AuthConfigError, key_id, load_private_key, public_pem
from servicekit.settings import AuthSettings

Role = Literal["partner", "reviewer", "operator", "csp"]
ROLES: tuple[Role, ...] = get_args(Role)
ALGORITHM = "EdDSA"
TOKEN_TYPE = "at+jwt"
# the claim that carries each role's subject; an operator acts for the platform and has none
SUBJECT_CLAIMS: dict[str, str | None] = {"partner": "partner_id", "reviewer": "reviewer_id", "csp": "csp_id",
                                         "operator": None}


class TokenError(Exception):
    """Why a bearer token was refused: `reason` is a stable code and `detail` its fixed sentence, the only two
    things a 401 says (never the token library's message, which may echo the token or the library's internals)."""

    reason: ClassVar[str] = "invalid"
    detail: ClassVar[str] = "invalid token"


class TokenMissing(TokenError):
    reason = "missing"
    detail = "missing bearer token"


class TokenMalformed(TokenError):
    reason = "malformed"
    detail = "malformed token"


class TokenExpired(TokenError):
    reason = "expired"
    detail = "token expired"


class TokenNotYetValid(TokenError):
    reason = "not_yet_valid"
    detail = "token not yet valid"


class TokenSignatureInvalid(TokenError):
    reason = "bad_signature"
    detail = "invalid token signature"


class TokenAudienceInvalid(TokenError):
    reason = "wrong_audience"
    detail = "wrong audience"


class TokenIssuerInvalid(TokenError):
    reason = "wrong_issuer"
    detail = "wrong issuer"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a client acting in one role, for one partner, reviewer or CSP."""

    client_id: str
    role: Role
    partner_id: UUID | None = None
    reviewer_id: UUID | None = None
    csp_id: UUID | None = None  # the inventory's id of the CSP (allocation's `csp.id`), never its name
    scopes: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; one of {', '.join(ROLES)}")
        given = {name for name in ("partner_id", "reviewer_id", "csp_id") if getattr(self, name) is not None}
        wanted = {claim for claim in (SUBJECT_CLAIMS[self.role],) if claim is not None}
        if given != wanted:
            raise ValueError(f"a {self.role} principal carries {sorted(wanted) or 'no subject'}, got {sorted(given)}")

    @classmethod
    def of(cls, client_id: str, role: str, subject: str | None, scopes: Sequence[str] = ()) -> Principal:
        """From the stored form: the role's subject as text, a UUID (the partner's, reviewer's or CSP's id); a subject
        that is no UUID (a CSP's name, as clients were once made) raises ValueError."""
        claim = SUBJECT_CLAIMS.get(role)
        attrs: dict[str, Any] = {}
        if claim is not None and subject is not None:
            attrs[claim] = UUID(str(subject))
        # the role is checked against ROLES by __post_init__, which refuses any other text
        return cls(client_id=client_id, role=cast(Role, role), scopes=frozenset(scopes), **attrs)

    @property
    def subject(self) -> str | None:
        claim = SUBJECT_CLAIMS[self.role]
        value = getattr(self, claim) if claim else None
        return None if value is None else str(value)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class AccessToken:
    token: str
    token_id: str
    expires_in_s: int
    expires_at: datetime


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TokenIssuer:
    """Signs short-lived access tokens; only the service that owns the credentials (intake) has one."""

    def __init__(self, private_key_pem: str | bytes, *, issuer: str, audience: str, ttl_s: int = 900,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self._key = load_private_key(private_key_pem)
        self.key_id = key_id(self._key.public_key())
        self.issuer, self.audience, self.ttl_s = issuer, audience, ttl_s
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: AuthSettings, *, clock: Callable[[], datetime] = _utcnow) -> TokenIssuer:
        if settings.private_key_pem is None:
            raise AuthConfigError("no signing key: set <SERVICE>_AUTH__PRIVATE_KEY_PEM (auth.private_key_pem)")
        return cls(settings.private_key_pem.get_secret_value(), issuer=settings.issuer,
                   audience=settings.audience, ttl_s=settings.token_ttl_s, clock=clock)

    @property
    def public_key_pem(self) -> str:
        return public_pem(self._key.public_key())

    def issue(self, principal: Principal) -> AccessToken:
        now = self._clock()
        expires_at = now + timedelta(seconds=self.ttl_s)
        token_id = str(uuid.uuid4())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": self.audience, "sub": principal.client_id,
            "client_id": principal.client_id, "role": principal.role, "jti": token_id,
            "iat": int(now.timestamp()), "exp": int(expires_at.timestamp()),
        }
        claim = SUBJECT_CLAIMS[principal.role]
        if claim is not None:
            claims[claim] = principal.subject
        if principal.scopes:
            claims["scope"] = " ".join(sorted(principal.scopes))
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.key_id, "typ": TOKEN_TYPE})
        return AccessToken(token=token, token_id=token_id, expires_in_s=self.ttl_s, expires_at=expires_at)
