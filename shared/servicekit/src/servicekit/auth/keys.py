"""Ed25519 key material: generation for dev and tests, loading from PEM, and the key id a token names."""
from __future__ import annotations

import base64
import hashlib
import json

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
    x = _b64url(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


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
