"""A token verified lately is answered from memory, never past its expiry or after its key stops being trusted."""
from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from servicekit.auth import Principal, TokenExpired, TokenIssuer, TokenSignatureInvalid, TokenVerifier, generate_keypair
from servicekit.auth import verifier as verifier_module

ISSUER, AUDIENCE = "gpu-platform/intake", "gpu-platform"
PRIVATE, PUBLIC = generate_keypair()
PARTNER = Principal(client_id="partner-1", role="partner", partner_id=uuid.uuid4(),
                    scopes=frozenset({"applications:write"}))


def token(*, ttl_s: int = 900, client_id: str = "partner-1") -> str:
    issuer = TokenIssuer(PRIVATE, issuer=ISSUER, audience=AUDIENCE, ttl_s=ttl_s)
    return issuer.issue(Principal(client_id=client_id, role="partner", partner_id=PARTNER.partner_id,
                                  scopes=PARTNER.scopes)).token


def verifier(leeway_s: float = 30) -> TokenVerifier:
    return TokenVerifier([PUBLIC], issuer=ISSUER, audience=AUDIENCE, leeway_s=leeway_s)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token PyJWT is asked to verify."""
    seen: list[str] = []
    real = verifier_module.jwt.decode

    def counting(jwt: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(jwt)
        return real(jwt, *args, **kwargs)

    monkeypatch.setattr(verifier_module.jwt, "decode", counting)
    return seen


def test_a_token_verified_once_is_answered_from_memory(decodes: list[str]) -> None:
    checking, issued = verifier(), token()
    assert checking.verify(issued) == checking.verify(issued) == PARTNER
    assert decodes == [issued]


def test_a_remembered_token_is_refused_once_it_expires(decodes: list[str]) -> None:
    checking, issued = verifier(leeway_s=1), token(ttl_s=1)  # valid until a second past its expiry
    assert checking.verify(issued) == PARTNER
    time.sleep(2.1)
    with pytest.raises(TokenExpired):
        checking.verify(issued)
    assert decodes == [issued, issued]  # verified afresh, and refused for what it is


def test_a_remembered_token_whose_key_is_no_longer_trusted_is_refused() -> None:
    checking, issued = verifier(), token()
    assert checking.verify(issued) == PARTNER
    checking._keys.clear()  # the key rotated out (as a JWKS refresh that drops it would)
    with pytest.raises(TokenSignatureInvalid):
        checking.verify(issued)


def test_memory_holds_the_latest_tokens_only(monkeypatch: pytest.MonkeyPatch, decodes: list[str]) -> None:
    monkeypatch.setattr(verifier_module, "REMEMBERED", 2)
    checking = verifier()
    first, second, third = (token(client_id=f"partner-{n}") for n in range(3))
    for issued in (first, second, third, third, second):
        checking.verify(issued)
    assert decodes == [first, second, third]
    checking.verify(first)  # forgotten: the oldest went when the third came
    assert decodes == [first, second, third, first]
