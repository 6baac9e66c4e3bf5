"""Password hashing for the provider's users and client secrets: salted scrypt, compared in
constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["hash_password", "verify_password"]

# scrypt's interactive-login parameters (RFC 7914 §2): about 16 MiB and tens of milliseconds.
_N, _R, _P = 2**14, 8, 1
_SCHEME = "scrypt"


def _derive(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)


def hash_password(password: str) -> str:
    """`scrypt$SALT$HASH` (base64) for storage; a fresh random salt each time."""
    salt = secrets.token_bytes(16)
    encoded = [base64.b64encode(part).decode() for part in (salt, _derive(password, salt))]
    return "$".join([_SCHEME, *encoded])


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches `stored`; with `stored=None` it still spends the same time,
    so a missing user cannot be told from a wrong password by timing."""
    scheme, _, rest = (stored or "").partition("$")
    salt_text, _, hash_text = rest.partition("$")
    try:
        salt = base64.b64decode(salt_text, validate=True)
        expected = base64.b64decode(hash_text, validate=True)
    except ValueError:
        salt, expected = b"", b""
    if scheme != _SCHEME or not salt or not expected:
        _derive(password, b"\0" * 16)
        return False
    return hmac.compare_digest(_derive(password, salt), expected)
