"""Published keys without I/O: our JWKs as PyJWT reads them, the key sets a verifier takes, the JWKS settings."""
from __future__ import annotations

import jwt
import pytest
from pydantic import ValidationError

from servicekit.auth import (
    AuthConfigError,
    AuthSettings,
    JwksUnusable,
    Principal,
    TokenIssuer,
    TokenVerifier,
    generate_keypair,
    key_id,
    load_public_key,
    parse_jwks,
    public_jwk,
    published_keys,
)

ISSUER, AUDIENCE = "gpu-platform/intake", "gpu-platform"
PRIVATE, PUBLIC = generate_keypair()
KEY = load_public_key(PUBLIC)
OPERATOR = Principal(client_id="ops", role="operator")


def test_a_published_jwk_is_an_ed25519_signing_key_named_by_the_kid_of_its_tokens() -> None:
    jwk = public_jwk(KEY)
    token = TokenIssuer(PRIVATE, issuer=ISSUER, audience=AUDIENCE).issue(OPERATOR).token
    assert jwk == {"kty": "OKP", "crv": "Ed25519", "x": jwk["x"], "kid": jwt.get_unverified_header(token)["kid"],
                   "use": "sig", "alg": "EdDSA"}
    # PyJWT reads it as the same key, and verifies the token with it
    read = jwt.PyJWK(jwk)
    assert (read.key_id, read.algorithm_name) == (key_id(KEY), "EdDSA")
    assert jwt.decode(token, read, algorithms=["EdDSA"], audience=AUDIENCE)["sub"] == "ops"


def test_a_key_set_keeps_its_ed25519_signing_keys_and_skips_the_rest() -> None:
    _, other = generate_keypair()
    document = {"keys": [
        public_jwk(KEY),
        {**public_jwk(load_public_key(other)), "kid": "named-otherwise"},
        {**public_jwk(KEY), "use": "enc", "kid": "for-encryption"},
        {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"},
        {"kty": "OKP", "crv": "X25519", "x": public_jwk(KEY)["x"], "kid": "x25519"},
        {"kty": "OKP", "crv": "Ed25519", "x": "not base64url!", "kid": "broken"},
        "not even an object",
    ]}
    assert set(parse_jwks(document)) == {key_id(KEY), "named-otherwise"}


@pytest.mark.parametrize("document", [{"keys": []}, {"keys": [{"kty": "RSA"}]}, {}, [], "keys"])
def test_a_key_set_without_a_usable_key_is_unusable(document: object) -> None:
    with pytest.raises(JwksUnusable):
        parse_jwks(document)


def test_the_issuer_publishes_its_signing_key_first_and_every_configured_key_once() -> None:
    _, old = generate_keypair()
    settings = AuthSettings(private_key_pem=PRIVATE, public_keys_pem=[old, PUBLIC, old])
    keys = published_keys(TokenIssuer.from_settings(settings), settings)
    assert [key_id(k) for k in keys] == [key_id(KEY), key_id(load_public_key(old))]


def test_the_issuer_verifies_its_own_tokens_without_a_public_key_configured() -> None:
    settings = AuthSettings(private_key_pem=PRIVATE)
    token_issuer = TokenIssuer.from_settings(settings)
    verifier = TokenVerifier.of_issuer(token_issuer, settings)
    assert verifier.verify(token_issuer.issue(OPERATOR).token) == OPERATOR
    assert verifier.remote is None


def test_a_jwks_url_alone_is_enough_for_a_verifier_and_pem_keys_still_work_beside_it() -> None:
    remote_only = TokenVerifier.from_settings(AuthSettings(jwks_url="http://127.0.0.1:8001/.well-known/jwks.json"))
    assert remote_only.remote is not None and remote_only.key_ids == []  # nothing fetched yet
    both = TokenVerifier.from_settings(AuthSettings(jwks_url="https://intake.example/.well-known/jwks.json",
                                                    public_keys_pem=[PUBLIC]))
    token = TokenIssuer(PRIVATE, issuer=ISSUER, audience=AUDIENCE).issue(OPERATOR).token
    assert both.verify(token) == OPERATOR


def test_a_verifier_without_pem_keys_or_a_jwks_url_names_both_settings() -> None:
    with pytest.raises(AuthConfigError, match=r"JWKS_URL.*PUBLIC_KEYS_PEM"):
        TokenVerifier.from_settings(AuthSettings())


@pytest.mark.parametrize("url", ["intake:8001/.well-known/jwks.json", "file:///etc/keys.json", ""])
def test_a_jwks_url_must_be_http_or_https(url: str) -> None:
    with pytest.raises(ValidationError):
        AuthSettings(jwks_url=url)
