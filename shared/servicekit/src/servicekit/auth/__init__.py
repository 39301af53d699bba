"""Partner API credentials: OAuth2 client credentials issued by one service, Ed25519 JWTs verified by every one.

The design and how a service wires it in: docs/auth.md.
"""
from servicekit.auth.bootstrap import bootstrap_operator, bootstrap_operator_command
from servicekit.auth.dependencies import (
    AUTH_RESPONSES,
    CSRF_HEADER,
    OPERATOR_ONLY,
    Forbidden,
    Operator,
    SessionCookie,
    Unauthenticated,
    authenticated,
    install_auth,
    operator_only,
    require,
)
from servicekit.auth.discovery import discovery_router, published_keys
from servicekit.auth.hashing import hash_secret, new_client_secret, verify_secret
from servicekit.auth.jwks import JwksUnusable, RemoteKeys, parse_jwks
from servicekit.auth.keys import AuthConfigError, generate_keypair, jwk_public_key, key_id, load_public_key, public_jwk
from servicekit.auth.routes import token_router
from servicekit.auth.store import Client, ClientStore, InvalidClientRequest, NewClient
from servicekit.auth.tables import (
    CredentialTables,
    create_credential_tables,
    credential_tables,
    drop_credential_tables,
)
from servicekit.auth.tokens import (
    ROLES,
    AccessToken,
    Principal,
    Role,
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
from servicekit.auth.verifier import TokenVerifier
from servicekit.settings import AuthSettings

__all__ = [
    "AUTH_RESPONSES", "CSRF_HEADER", "OPERATOR_ONLY", "ROLES", "AccessToken", "AuthConfigError", "AuthSettings",
    "Client", "ClientStore", "CredentialTables", "Forbidden", "InvalidClientRequest", "JwksUnusable", "NewClient",
    "Operator", "Principal", "RemoteKeys", "Role", "SessionCookie", "TokenAudienceInvalid", "TokenError",
    "TokenExpired", "TokenIssuer", "TokenIssuerInvalid", "TokenMalformed", "TokenMissing", "TokenNotYetValid",
    "TokenSignatureInvalid", "TokenVerifier", "Unauthenticated", "authenticated", "bootstrap_operator",
    "bootstrap_operator_command", "create_credential_tables", "credential_tables", "discovery_router",
    "drop_credential_tables", "generate_keypair", "hash_secret", "install_auth", "jwk_public_key", "key_id",
    "load_public_key", "new_client_secret", "operator_only", "parse_jwks", "public_jwk", "published_keys",
    "require", "token_router", "verify_secret",
]
