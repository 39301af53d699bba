"""Verifies access tokens with the issuer's public keys alone: no call to intake per request, no shared table."""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt import exceptions as jwt_errors

from servicekit.auth.jwks import RemoteKeys
from servicekit.auth.keys import AuthConfigError, key_id, load_public_key
from servicekit.auth.tokens import (
    ALGORITHM,
    SUBJECT_CLAIMS,
    TOKEN_TYPE,
    Principal,
    TokenAudienceInvalid,
    TokenError,
    TokenExpired,
    TokenIssuer,
    TokenIssuerInvalid,
    TokenMalformed,
    TokenMissing,
    TokenNotYetValid,
    TokenSignatureInvalid,
)
from servicekit.settings import AuthSettings

REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "jti"]
REMEMBERED = 1024  # tokens verified lately, kept with their caller until they expire (a client reuses its token)
# checked in this order: the first match explains the refusal; PyJWT's own message stays in __cause__ only
_ERRORS: list[tuple[type[Exception], type[TokenError], str]] = [
    (jwt_errors.ExpiredSignatureError, TokenExpired, "the access token has expired"),
    (jwt_errors.ImmatureSignatureError, TokenNotYetValid, "the access token is not valid yet"),
    (jwt_errors.InvalidAudienceError, TokenAudienceInvalid, "the access token is meant for another audience"),
    (jwt_errors.InvalidIssuerError, TokenIssuerInvalid, "the access token comes from another issuer"),
    (jwt_errors.InvalidSignatureError, TokenSignatureInvalid, "the access token's signature does not verify"),
    (jwt_errors.InvalidTokenError, TokenMalformed, "the access token is malformed"),
]


class TokenVerifier:
    """Trusts every key given, so that tokens signed before a key rotation stay valid until they expire; with
    `remote`, also the keys the issuer publishes now (fetched and cached by RemoteKeys)."""

    def __init__(self, public_keys_pem: Sequence[str | bytes], *, issuer: str, audience: str,
                 leeway_s: float = 30, remote: RemoteKeys | None = None) -> None:
        if not public_keys_pem and remote is None:
            raise AuthConfigError("no public key: set <SERVICE>_AUTH__JWKS_URL (auth.jwks_url) or "
                                  "<SERVICE>_AUTH__PUBLIC_KEYS_PEM (auth.public_keys_pem)")
        keys = [load_public_key(pem) for pem in public_keys_pem]
        self._keys: dict[str, Ed25519PublicKey] = {key_id(key): key for key in keys}
        self.remote = remote
        self.issuer, self.audience, self.leeway_s = issuer, audience, leeway_s
        # token → (its caller, its expiry, the id of the key its signature verified with)
        self._verified: OrderedDict[str, tuple[Principal, float, str]] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: AuthSettings, *, transport: httpx.AsyncBaseTransport | None = None,
                      clock: Callable[[], float] = time.monotonic) -> TokenVerifier:
        remote = None
        if settings.jwks_url is not None:
            remote = RemoteKeys(settings.jwks_url, ttl_s=settings.jwks_cache_ttl_s,
                                min_refetch_s=settings.jwks_min_refetch_s, transport=transport, clock=clock)
        return cls(settings.public_keys_pem, issuer=settings.issuer, audience=settings.audience,
                   leeway_s=settings.leeway_s, remote=remote)

    @classmethod
    def of_issuer(cls, token_issuer: TokenIssuer, settings: AuthSettings) -> TokenVerifier:
        """The issuer's own verifier: the keys it publishes (its signing key and the configured public keys),
        never fetched from itself."""
        return cls([token_issuer.public_key_pem, *settings.public_keys_pem], issuer=settings.issuer,
                   audience=settings.audience, leeway_s=settings.leeway_s)

    @property
    def key_ids(self) -> list[str]:
        return list(self._trusted())

    async def authenticate(self, token: str | None) -> Principal:
        """As `verify`, after fetching the issuer's keys when the token names one not known yet (rate-limited)."""
        if token and self.remote is not None:
            kid = _header(token).get("kid")
            if isinstance(kid, str) and kid not in self._keys:
                await self.remote.ensure(kid)
        return self.verify(token)

    def verify(self, token: str | None) -> Principal:
        """The caller the token names, by the keys known now, or a TokenError saying why not.

        A token verified lately is not verified again (its signature, header and claims cannot have changed): it
        is answered from memory while it has not expired (as PyJWT judges, with the leeway) and the key that
        verified it is still trusted; otherwise it is verified afresh, and refused for what it is."""
        if not token:
            raise TokenMissing("no access token")
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, expires, kid = remembered
            if time.time() < expires + self.leeway_s and kid in self._trusted():
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        claims, kid = self._decode(token, self._candidate_keys(_header(token)))
        principal = _principal(claims)
        self._verified[token] = (principal, float(claims["exp"]), kid)
        if len(self._verified) > REMEMBERED:
            self._verified.popitem(last=False)
        return principal

    def _trusted(self) -> dict[str, Ed25519PublicKey]:
        return {**(self.remote.keys if self.remote is not None else {}), **self._keys}

    def _candidate_keys(self, header: dict[str, Any]) -> list[tuple[str, Ed25519PublicKey]]:
        trusted = self._trusted()
        kid = header.get("kid")
        if kid is None:
            return list(trusted.items())
        if kid not in trusted:
            raise TokenSignatureInvalid("the access token is signed by a key this service does not trust")
        return [(kid, trusted[kid])]

    def _decode(self, token: str, keys: list[tuple[str, Ed25519PublicKey]]) -> tuple[dict[str, Any], str]:
        """The token's claims, and the id of the key that verified it."""
        for kid, key in keys:
            try:
                return jwt.decode(token, key, algorithms=[ALGORITHM], audience=self.audience, issuer=self.issuer,
                                  leeway=self.leeway_s, options={"require": REQUIRED_CLAIMS}), kid
            except jwt_errors.InvalidSignatureError:
                continue  # perhaps the next trusted key signed it
            except jwt_errors.InvalidTokenError as exc:
                raise _translate(exc) from exc
        raise TokenSignatureInvalid("the access token's signature does not verify")


def _header(token: str) -> dict[str, Any]:
    """The unverified header, which must name EdDSA and an access token before any key is tried."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt_errors.InvalidTokenError as exc:
        raise TokenMalformed("the access token is malformed") from exc
    if header.get("alg") != ALGORITHM:
        raise TokenMalformed(f"the access token's algorithm is not {ALGORITHM}")
    if header.get("typ") != TOKEN_TYPE:
        raise TokenMalformed(f"not an access token (typ is not {TOKEN_TYPE})")
    return header


def _translate(exc: Exception) -> TokenError:
    for jwt_error, token_error, message in _ERRORS:
        if isinstance(exc, jwt_error):
            return token_error(message)
    return TokenMalformed("the access token is malformed")


def _principal(claims: dict[str, Any]) -> Principal:
    role = claims.get("role")
    claim = SUBJECT_CLAIMS.get(role) if isinstance(role, str) else None
    subject = claims.get(claim) if claim else None
    try:
        # a role that is not text is refused by Principal's own check, as the except below says
        principal = Principal.of(claims.get("client_id", claims["sub"]), role, subject,  # type: ignore[arg-type]
                                 str(claims.get("scope", "")).split())
    except (ValueError, TypeError) as exc:
        raise TokenMalformed("the access token's claims do not name a caller") from exc
    return principal

