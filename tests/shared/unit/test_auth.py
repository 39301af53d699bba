"""Access tokens and client secrets without I/O: issue and verify, every refusal, key rotation, hashing."""
from __future__ import annotations

import base64
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic_settings import SettingsConfigDict

from servicekit.auth import (
    AuthConfigError,
    AuthSettings,
    Principal,
    TokenAudienceInvalid,
    TokenExpired,
    TokenIssuer,
    TokenIssuerInvalid,
    TokenMalformed,
    TokenMissing,
    TokenNotYetValid,
    TokenSignatureInvalid,
    TokenVerifier,
    generate_keypair,
    hash_secret,
    hashing,
    key_id,
    load_public_key,
    new_client_secret,
    verify_secret,
)
from servicekit.auth.keys import load_private_key
from servicekit.settings import PEM_BLOCK, ServiceSettings

ISSUER, AUDIENCE = "gpu-platform/intake", "gpu-platform"
PRIVATE, PUBLIC = generate_keypair()
PARTNER = Principal(client_id="partner-1", role="partner", partner_id=uuid.uuid4(),
                    scopes=frozenset({"applications:read", "applications:write"}))


def issuer(private: str = PRIVATE, *, at: datetime | None = None, ttl_s: int = 900, **overrides: str) -> TokenIssuer:
    options = {"issuer": ISSUER, "audience": AUDIENCE, **overrides}
    clock = (lambda: at) if at is not None else (lambda: datetime.now(UTC))
    return TokenIssuer(private, ttl_s=ttl_s, clock=clock, **options)


def verifier(*public: str, leeway_s: float = 30, **overrides: str) -> TokenVerifier:
    options = {"issuer": ISSUER, "audience": AUDIENCE, **overrides}
    return TokenVerifier(list(public) or [PUBLIC], leeway_s=leeway_s, **options)


def claims_of(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def test_a_token_names_the_caller_it_was_issued_for() -> None:
    issued = issuer().issue(PARTNER)
    assert verifier().verify(issued.token) == PARTNER
    assert issued.expires_in_s == 900


def test_a_token_carries_the_registered_claims_and_the_role_subject() -> None:
    issued = issuer().issue(PARTNER)
    claims = claims_of(issued.token)
    assert claims["sub"] == claims["client_id"] == "partner-1"
    assert (claims["iss"], claims["aud"], claims["role"]) == (ISSUER, AUDIENCE, "partner")
    assert claims["partner_id"] == str(PARTNER.partner_id)
    assert claims["jti"] == issued.token_id
    assert claims["exp"] - claims["iat"] == 900
    assert claims["scope"] == "applications:read applications:write"
    assert jwt.get_unverified_header(issued.token)["typ"] == "at+jwt"


@pytest.mark.parametrize("principal", [
    Principal(client_id="op-1", role="operator"),
    Principal(client_id="rv-1", role="reviewer", reviewer_id=uuid.uuid4()),
    Principal(client_id="csp-1", role="csp", csp_id=uuid.uuid4()),
], ids=["operator", "reviewer", "csp"])
def test_every_role_round_trips_with_its_own_subject(principal: Principal) -> None:
    assert verifier().verify(issuer().issue(principal).token) == principal


def test_two_tokens_for_one_client_have_distinct_ids() -> None:
    assert issuer().issue(PARTNER).token_id != issuer().issue(PARTNER).token_id


def test_an_expired_token_is_accepted_only_within_the_leeway() -> None:
    twenty_s_expired = issuer(at=datetime.now(UTC) - timedelta(seconds=920)).issue(PARTNER).token
    assert verifier(leeway_s=60).verify(twenty_s_expired) == PARTNER
    with pytest.raises(TokenExpired) as refused:
        verifier(leeway_s=5).verify(twenty_s_expired)
    assert refused.value.reason == "expired"


def test_a_token_issued_in_the_future_beyond_the_leeway_is_not_valid_yet() -> None:
    token = issuer(at=datetime.now(UTC) + timedelta(minutes=5)).issue(PARTNER).token
    with pytest.raises(TokenNotYetValid):
        verifier(leeway_s=30).verify(token)


def test_a_token_signed_by_another_key_is_refused() -> None:
    stranger, _ = generate_keypair()
    with pytest.raises(TokenSignatureInvalid) as refused:
        verifier().verify(issuer(stranger).issue(PARTNER).token)
    assert refused.value.reason == "bad_signature"


def test_a_token_for_another_audience_is_refused() -> None:
    token = issuer(audience="billing-only").issue(PARTNER).token
    with pytest.raises(TokenAudienceInvalid) as refused:
        verifier().verify(token)
    assert refused.value.reason == "wrong_audience"


def test_a_token_from_another_issuer_is_refused() -> None:
    token = issuer(issuer="someone-else").issue(PARTNER).token
    with pytest.raises(TokenIssuerInvalid) as refused:
        verifier().verify(token)
    assert refused.value.reason == "wrong_issuer"


def test_a_partner_token_rewritten_into_an_operator_token_fails_its_signature() -> None:
    header, payload, signature = issuer().issue(PARTNER).token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims.update(role="operator")
    del claims["partner_id"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenSignatureInvalid):
        verifier().verify(f"{header}.{forged}.{signature}")


@pytest.mark.parametrize("token", ["not-a-token", "a.b.c", "eyJhbGciOiJFZERTQSJ9.e30"])
def test_a_malformed_token_is_refused_as_malformed(token: str) -> None:
    with pytest.raises(TokenMalformed) as refused:
        verifier().verify(token)
    assert refused.value.reason == "malformed"


@pytest.mark.parametrize("token", [None, ""])
def test_no_token_is_refused_as_missing(token: str | None) -> None:
    with pytest.raises(TokenMissing) as refused:
        verifier().verify(token)
    assert refused.value.reason == "missing"


def test_a_token_with_another_algorithm_is_refused_whatever_its_claims() -> None:
    claims = claims_of(issuer().issue(PARTNER).token)
    hs256 = jwt.encode(claims, b"k" * 32, algorithm="HS256", headers={"typ": "at+jwt"})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"typ": "at+jwt"})
    for token in (hs256, unsigned):
        with pytest.raises(TokenMalformed, match="algorithm"):
            verifier().verify(token)


def test_a_signed_jwt_that_is_not_an_access_token_is_refused() -> None:
    claims = claims_of(issuer().issue(PARTNER).token)
    id_token = jwt.encode(claims, load_private_key(PRIVATE), algorithm="EdDSA", headers={"typ": "JWT"})
    with pytest.raises(TokenMalformed, match="not an access token"):
        verifier().verify(id_token)


def test_a_signed_token_without_a_known_role_or_its_subject_names_no_caller() -> None:
    claims = claims_of(issuer().issue(PARTNER).token)
    sign = load_private_key(PRIVATE)
    for changed in ({**claims, "role": "admin"}, {k: v for k, v in claims.items() if k != "partner_id"},
                    {**claims, "partner_id": "not-a-uuid"}):
        token = jwt.encode(changed, sign, algorithm="EdDSA", headers={"typ": "at+jwt"})
        with pytest.raises(TokenMalformed, match="caller"):
            verifier().verify(token)


def test_during_a_rotation_tokens_of_the_old_and_the_new_key_are_both_accepted() -> None:
    new_private, new_public = generate_keypair()
    old_token = issuer().issue(PARTNER).token
    new_token = issuer(new_private).issue(PARTNER).token
    rotating = verifier(new_public, PUBLIC)
    assert rotating.verify(old_token) == rotating.verify(new_token) == PARTNER
    with pytest.raises(TokenSignatureInvalid):
        verifier(new_public).verify(old_token)


def test_a_token_names_its_key_so_that_only_that_key_is_tried() -> None:
    token = issuer().issue(PARTNER).token
    assert jwt.get_unverified_header(token)["kid"] == key_id(load_public_key(PUBLIC))
    _, other_public = generate_keypair()
    assert verifier(other_public, PUBLIC).key_ids == [key_id(load_public_key(p)) for p in (other_public, PUBLIC)]


def test_a_token_without_a_key_id_is_tried_against_every_trusted_key() -> None:
    claims = claims_of(issuer().issue(PARTNER).token)
    token = jwt.encode(claims, load_private_key(PRIVATE), algorithm="EdDSA", headers={"typ": "at+jwt"})
    _, other_public = generate_keypair()
    assert verifier(other_public, PUBLIC).verify(token) == PARTNER


def test_keys_other_than_ed25519_are_refused_at_start_up() -> None:
    from cryptography.hazmat.primitives import serialization

    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_private = ec_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()
    ec_public = ec_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with pytest.raises(AuthConfigError, match="Ed25519"):
        issuer(ec_private)
    with pytest.raises(AuthConfigError, match="Ed25519"):
        verifier(ec_public)
    with pytest.raises(AuthConfigError, match="PEM"):
        verifier("not a key")


def test_a_service_without_keys_cannot_build_a_verifier_or_an_issuer() -> None:
    with pytest.raises(AuthConfigError, match="PUBLIC_KEYS_PEM"):
        TokenVerifier.from_settings(AuthSettings())
    with pytest.raises(AuthConfigError, match="PRIVATE_KEY_PEM"):
        TokenIssuer.from_settings(AuthSettings(public_keys_pem=[PUBLIC]))


def test_settings_build_a_working_issuer_and_verifier() -> None:
    settings = AuthSettings(private_key_pem=PRIVATE, public_keys_pem=[PUBLIC], token_ttl_s=300)
    issued = TokenIssuer.from_settings(settings).issue(PARTNER)
    assert issued.expires_in_s == 300
    assert TokenVerifier.from_settings(settings).verify(issued.token) == PARTNER
    assert PRIVATE not in repr(settings)  # the signing key never reaches a log line


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str] = "demo"


def test_one_environment_variable_holds_several_public_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    _, second = generate_keypair()
    monkeypatch.setenv("DEMO_AUTH__PUBLIC_KEYS_PEM", PUBLIC + second)
    monkeypatch.setenv("DEMO_AUTH__PRIVATE_KEY_PEM", PRIVATE)
    settings = DemoSettings()
    assert [p.strip() for p in settings.auth.public_keys_pem] == [PUBLIC.strip(), second.strip()]
    monkeypatch.setenv("DEMO_AUTH__PUBLIC_KEYS_PEM", json.dumps([second]))
    assert DemoSettings().auth.public_keys_pem == [second]
    token = TokenIssuer.from_settings(settings.auth).issue(PARTNER).token
    assert TokenVerifier.from_settings(settings.auth).verify(token) == PARTNER


def test_a_principal_carries_exactly_the_subject_of_its_role() -> None:
    with pytest.raises(ValueError, match="partner_id"):
        Principal(client_id="p", role="partner")
    with pytest.raises(ValueError, match="no subject"):
        Principal(client_id="o", role="operator", csp_id=uuid.uuid4())
    with pytest.raises(ValueError, match="unknown role"):
        Principal(client_id="x", role="admin")  # type: ignore[arg-type]
    kt_cloud = uuid.uuid4()
    assert Principal.of("c", "csp", str(kt_cloud)).subject == str(kt_cloud)
    with pytest.raises(ValueError):
        Principal.of("c", "csp", "KT Cloud")  # a CSP is named by its inventory id, never by its name


def test_a_csp_token_that_names_its_csp_by_name_names_no_caller() -> None:
    """A token of the kind issued when a CSP's client was linked by name (a `csp` claim) is refused whole."""
    claims = claims_of(issuer().issue(Principal(client_id="csp-1", role="csp", csp_id=uuid.uuid4())).token)
    sign = load_private_key(PRIVATE)
    by_name = {**{k: v for k, v in claims.items() if k != "csp_id"}, "csp": "KT Cloud"}
    for changed in (by_name, {**claims, "csp_id": "KT Cloud"}):
        token = jwt.encode(changed, sign, algorithm="EdDSA", headers={"typ": "at+jwt"})
        with pytest.raises(TokenMalformed, match="caller"):
            verifier().verify(token)


def test_a_client_secret_is_32_random_url_safe_bytes() -> None:
    secrets_ = {new_client_secret() for _ in range(100)}
    assert len(secrets_) == 100
    assert all(len(base64.urlsafe_b64decode(s + "=")) == 32 for s in secrets_)
    assert all(set(s) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for s in secrets_)


def test_a_secret_is_stored_as_a_salted_scrypt_hash_that_only_it_matches() -> None:
    secret = new_client_secret()
    stored, again = hash_secret(secret), hash_secret(secret)
    assert secret not in stored and stored.startswith("scrypt$")
    assert stored != again  # a salt of its own
    assert verify_secret(secret, stored) and verify_secret(secret, again)
    assert not verify_secret(new_client_secret(), stored)
    assert not verify_secret(secret[:-1], stored)


@pytest.mark.parametrize("stored", ["", "garbage", "pbkdf2$1$2$3$4$5", "scrypt$x$8$1$AAAA$AAAA", "scrypt$3$8$1$$"])
def test_an_unreadable_stored_hash_matches_no_secret(stored: str) -> None:
    assert not verify_secret(new_client_secret(), stored)


def test_the_secret_check_compares_digests_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    constant_time = hmac.compare_digest

    def recording_compare(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return constant_time(a, b)

    secret = new_client_secret()
    stored = hash_secret(secret)
    monkeypatch.setattr(hashing.hmac, "compare_digest", recording_compare)
    assert verify_secret(secret, stored)
    assert not verify_secret("wrong", stored)
    assert len(compared) == 2 and all(len(a) == len(b) == 32 for a, b in compared)


def test_keys_can_come_from_mounted_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from servicekit.settings import AuthSettings

    private_pem, public_pem = generate_keypair()
    (tmp_path / "private.pem").write_text(private_pem)
    (tmp_path / "public.pem").write_text(public_pem)
    settings = AuthSettings(private_key_file=tmp_path / "private.pem", public_keys_file=tmp_path / "public.pem")
    assert settings.private_key_pem is not None
    assert settings.private_key_pem.get_secret_value() == private_pem
    assert settings.public_keys_pem == PEM_BLOCK.findall(public_pem)
