"""Ed25519 key material: generation for dev and tests, loading from PEM or a JWK, and the key id a token names."""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class AuthConfigError(ValueError):
    """The keys or settings cannot work: raised at start-up, never per request."""


def generate_keypair() -> tuple[str, str]:
    """A fresh Ed25519 pair as (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM), for dev and tests."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    return private_pem.decode(), public_pem(private.public_key())


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(key: Ed25519PublicKey) -> str:
    """The RFC 7638 JWK thumbprint: the `kid` that tells a verifier which trusted key signed a token."""
    canonical = json.dumps(_okp(key), separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """The key as an RFC 8037 OKP JWK for a JWKS, named by the same `kid` as the tokens it signs."""
    return {**_okp(key), "kid": key_id(key), "use": "sig", "alg": "EdDSA"}


def jwk_public_key(jwk: Mapping[str, Any]) -> Ed25519PublicKey | None:
    """The Ed25519 verification key a published JWK holds; None for any other key, which a verifier skips
    (RFC 7517 §5: members it does not understand are ignored, not fatal)."""
    if (jwk.get("kty"), jwk.get("crv")) != ("OKP", "Ed25519") or jwk.get("use", "sig") != "sig":
        return None
    if jwk.get("alg", "EdDSA") not in ("EdDSA", "Ed25519") or not isinstance(jwk.get("x"), str):
        return None
    try:
        raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        return None


def _okp(key: Ed25519PublicKey) -> dict[str, str]:
    """The members RFC 7638 hashes for an OKP key, and the ones every JWK of it carries."""
    x = _b64url(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    return {"crv": "Ed25519", "kty": "OKP", "x": x}


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def load_private_key(pem: str | bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    except (ValueError, TypeError) as exc:
        raise AuthConfigError(f"the private key is not an unencrypted PEM key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise AuthConfigError(f"the private key must be Ed25519, not {type(key).__name__}")
    return key


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    except (ValueError, TypeError) as exc:
        raise AuthConfigError(f"a public key is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise AuthConfigError(f"a public key must be Ed25519, not {type(key).__name__}")
    return key
