"""Access tokens for tests: one Ed25519 key pair per session, and bearer headers for any role."""
from __future__ import annotations

import uuid
from functools import cache

from servicekit.auth import Principal, Role, TokenIssuer, generate_keypair
from servicekit.settings import AuthSettings


@cache
def auth_settings() -> AuthSettings:
    private_pem, public_pem = generate_keypair()
    return AuthSettings(private_key_pem=private_pem, public_keys_pem=[public_pem])


def bearer(role: Role, subject: object | None = None, *, client_id: str | None = None) -> dict[str, str]:
    """An Authorization header for `role` (a partner or reviewer gets a fresh id unless one is given)."""
    if subject is None and role in ("partner", "reviewer"):
        subject = uuid.uuid4()
    if subject is None and role == "csp":
        subject = "test-csp"
    principal = Principal.of(client_id or f"{role}-{uuid.uuid4().hex[:8]}", role, subject, ())
    token = TokenIssuer.from_settings(auth_settings()).issue(principal).token
    return {"Authorization": f"Bearer {token}"}


OPERATOR = bearer("operator", client_id="operator-tests")
