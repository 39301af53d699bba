"""Client secrets: random, shown once, stored as a salted scrypt hash and checked in constant time."""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

SECRET_BYTES = 32
SALT_BYTES = 16
HASH_BYTES = 32
# a secret has 256 random bits, so the hash need not slow down guessing much: a modest cost keeps the
# token endpoint fast; the parameters are stored with each hash so that they can be raised later
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SCHEME = "scrypt"


def new_client_secret() -> str:
    """32 random bytes, URL-safe base64 (43 characters): safe in HTTP Basic and in a form body alike."""
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join([SCHEME, str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)])


def verify_secret(secret: str, stored: str) -> bool:
    """Whether `secret` is the one `stored` was made from; an unreadable stored hash matches nothing."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != SCHEME:
            return False
        expected = base64.urlsafe_b64decode(digest)
        actual = _scrypt(secret, base64.urlsafe_b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def dummy_hash() -> str:
    """A hash no secret matches, checked for unknown client ids so that their answer takes as long."""
    return hash_secret(new_client_secret())


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=HASH_BYTES)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()

