"""The issuer's public documents: its verification keys as an RFC 7517 JWK set, and RFC 8414 metadata.

Mounted by the issuer (intake) beside the token endpoint; other services and partners fetch the keys from here
instead of configuring them, so a key rotation needs no configuration change anywhere else.
"""
from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from servicekit.auth.keys import key_id, load_public_key, public_jwk
from servicekit.auth.tokens import TokenIssuer
from servicekit.settings import AuthSettings

JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-authorization-server"
TOKEN_PATH = "/oauth/token"
# a verifier refetches on an unknown kid anyway; shared caches may keep the set as long as our verifiers do
JWKS_CACHE = {"Cache-Control": "public, max-age=300"}
METADATA_CACHE = {"Cache-Control": "public, max-age=3600"}
JWK_SET_MEDIA_TYPE = "application/jwk-set+json"  # RFC 7517 §8.5


def published_keys(token_issuer: TokenIssuer, settings: AuthSettings) -> list[Ed25519PublicKey]:
    """The signing key first, then every other configured public key (the old one after a rotation, or the next
    one announced before it signs), each once."""
    keys = [load_public_key(pem) for pem in (token_issuer.public_key_pem, *settings.public_keys_pem)]
    return list({key_id(key): key for key in keys}.values())


def metadata(settings: AuthSettings, base_url: str) -> dict[str, Any]:
    """RFC 8414 §2 for a server that only issues tokens for client credentials: no authorization endpoint, so no
    response type either (the member is required, hence the empty list)."""
    base = base_url.rstrip("/")
    return {
        "issuer": settings.issuer,
        "token_endpoint": f"{base}{TOKEN_PATH}",
        "jwks_uri": f"{base}{JWKS_PATH}",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": [],
    }


def discovery_router(token_issuer: TokenIssuer, settings: AuthSettings) -> APIRouter:
    """GET /.well-known/jwks.json and GET /.well-known/oauth-authorization-server: public, no token."""
    router = APIRouter(tags=["auth"])
    key_set = {"keys": [public_jwk(key) for key in published_keys(token_issuer, settings)]}

    @router.get(JWKS_PATH, summary="The issuer's token verification keys (RFC 7517 JWK set)",
                responses={200: {"content": {JWK_SET_MEDIA_TYPE: {}}}})
    async def jwks() -> JSONResponse:
        return JSONResponse(key_set, media_type=JWK_SET_MEDIA_TYPE, headers=JWKS_CACHE)

    @router.get(METADATA_PATH, summary="The issuer's metadata (RFC 8414)")
    async def authorization_server(request: Request) -> JSONResponse:
        return JSONResponse(metadata(settings, str(request.base_url)), headers=METADATA_CACHE)

    return router
