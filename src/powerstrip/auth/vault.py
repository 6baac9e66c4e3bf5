"""The vault: seals secrets at rest with AES-256-GCM, opens them, and rotates keys (spec §4).

A sealed token reads ``v1.<keyid>.<base64url(nonce + ciphertext)>``. The key id names the key that
sealed it, so old tokens still open after a new key becomes the sealing one. Every seal is bound
to a *context* (``credential:user=7:plugin=3:access_token``) passed as associated data: a token
copied to another row, user or column does not open there.

Nothing here ever puts a plaintext or a key into an error, a log line or a repr.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
import re
import secrets
import stat
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from powerstrip.errors import ConfigError, VaultError
from powerstrip.logs import remember_secret

if TYPE_CHECKING:
    from powerstrip.settings import Settings

__all__ = ["KEY_BYTES", "Secret", "Vault", "generate_key", "parse_keys"]

logger = logging.getLogger(__name__)

KEY_BYTES: Final = 32  # AES-256
_NONCE_BYTES: Final = 12  # 96 bits, GCM's native nonce size
_TAG_BYTES: Final = 16
_VERSION: Final = "v1"
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_DEV_KEY_FILE: Final = "vault.key"
_KEYS_FIX: Final = (
    "set POWERSTRIP_VAULT_KEYS to comma-separated KEYID:BASE64KEY entries; "
    "`powerstrip keys new` prints one"
)


@final
class Secret:
    """A plaintext secret in transit: its repr and str are ``Secret('***')``; `reveal()` reads it.

    Deliberately not a `str` subclass, so concatenation, f-strings and `%` formatting cannot leak
    the value by accident.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The plaintext: call it only at the point where the secret is used."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def generate_key(key_id: str | None = None) -> str:
    """A new random key as a `POWERSTRIP_VAULT_KEYS` entry, ``KEYID:BASE64KEY``.

    The key id defaults to today's UTC date plus a random suffix (``k20240521-3fa9``), so
    successive keys sort by age and never collide.
    """
    kid = key_id or f"k{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(2)}"
    _check_key_id(kid, where="generate_key")
    return f"{kid}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode('ascii')}"


class Vault:
    """Seals and opens secrets with a set of AES-256-GCM keys; `active` is the one that seals."""

    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        if not keys:
            raise ConfigError("the vault has no keys", where="Vault", fix=_KEYS_FIX)
        for key_id, key in keys.items():
            _check_key_id(key_id, where="Vault")
            if len(key) != KEY_BYTES:
                raise ConfigError(
                    f"vault key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}",
                    where="Vault",
                    fix=_KEYS_FIX,
                )
        if active not in keys:
            raise ConfigError(
                f"the active key id {active!r} is not among the vault's keys",
                where="Vault",
                fix="pass one of the configured key ids as `active`",
            )
        self._ciphers = {key_id: AESGCM(bytes(key)) for key_id, key in keys.items()}
        self._active = active

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        """The vault `POWERSTRIP_VAULT_KEYS` describes, or a development key kept in `data_dir`."""
        raw = settings.vault_keys.get_secret_value()
        if raw.strip():
            keys, active = parse_keys(raw)
            return cls(keys, active)
        return cls(*_load_or_create_dev_key(settings.data_dir))

    @property
    def active_key_id(self) -> str:
        """The id of the key that seals new tokens."""
        return self._active

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The ids of every key that can open a token."""
        return tuple(self._ciphers)

    def __repr__(self) -> str:
        return f"Vault(active={self._active!r}, key_ids={list(self._ciphers)!r})"

    def seal(self, plaintext: str | Secret, *, context: str) -> str:
        """Encrypt `plaintext` under the active key, bound to `context`; returns a token."""
        _check_context(context)
        value = plaintext.reveal() if isinstance(plaintext, Secret) else plaintext
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._ciphers[self._active].encrypt(
            nonce, value.encode("utf-8"), _associated_data(self._active, context)
        )
        body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{_VERSION}.{self._active}.{body}"

    def open(self, token: str, *, context: str) -> str:
        """Decrypt a token sealed for `context`; any tampering, wrong context or key raises."""
        _check_context(context)
        key_id, blob = _parse_token(token)
        cipher = self._cipher(key_id)
        nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, _associated_data(key_id, context))
        except InvalidTag:
            raise VaultError(
                "the sealed secret does not open: it was altered, or was sealed for another "
                "context or with a different key under the same id",
                where=f"context {context!r}",
                fix="seal the secret again (the user re-enters it or signs in again)",
            ) from None
        value = plain.decode("utf-8")
        remember_secret(value)  # whatever the host opens, no log record of this process shows
        return value

    def needs_rotation(self, token: str) -> bool:
        """Whether the token was sealed by a key other than the active one."""
        key_id, _ = _parse_token(token)
        return key_id != self._active

    def rotate(self, token: str, *, context: str) -> str:
        """The token re-sealed under the active key (the same token if it already is)."""
        plaintext = self.open(token, context=context)  # proves it opens before we keep it
        if not self.needs_rotation(token):
            return token
        return self.seal(plaintext, context=context)

    def _cipher(self, key_id: str) -> AESGCM:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise VaultError(
                f"the secret was sealed with key id {key_id!r}, which is not configured",
                where="vault",
                fix="add that key back to POWERSTRIP_VAULT_KEYS (after the active one)",
            )
        return cipher


def parse_keys(raw: str) -> tuple[dict[str, bytes], str]:
    """Parse ``KEYID:BASE64KEY,...`` into keys and the active (first) key id."""
    keys: dict[str, bytes] = {}
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    for number, entry in enumerate(entries, start=1):
        where = f"POWERSTRIP_VAULT_KEYS entry {number}"
        key_id, colon, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not colon:
            raise ConfigError(
                "the entry has no ':' between key id and key", where=where, fix=_KEYS_FIX
            )
        _check_key_id(key_id, where=where)
        if key_id in keys:
            raise ConfigError(f"the key id {key_id!r} appears twice", where=where, fix=_KEYS_FIX)
        key = _decode_key(encoded.strip(), where=f"{where} (key id {key_id!r})")
        keys[key_id] = key
    if not keys:
        raise ConfigError("POWERSTRIP_VAULT_KEYS holds no entries", fix=_KEYS_FIX)
    return keys, entries[0].partition(":")[0].strip()


def _decode_key(encoded: str, *, where: str) -> bytes:
    # Accept both base64 alphabets: `+/` from `openssl rand -base64 32`, `-_` from url-safe tools.
    text = encoded.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("the key is not valid base64", where=where, fix=_KEYS_FIX) from None
    if len(key) != KEY_BYTES:
        raise ConfigError(
            f"the key is {len(key)} bytes; AES-256 needs {KEY_BYTES}", where=where, fix=_KEYS_FIX
        )
    return key


def _check_key_id(key_id: str, *, where: str) -> None:
    if not _KEY_ID.fullmatch(key_id):
        raise ConfigError(
            f"the key id {key_id!r} is not 1-32 letters, digits, '_' or '-'",
            where=where,
            fix=_KEYS_FIX,
        )


def _check_context(context: str) -> None:
    if not context:
        raise VaultError(
            "a seal needs a context naming where the secret lives",
            where="vault",
            fix="pass context=, e.g. 'credential:user=7:plugin=3:access_token'",
        )


def _associated_data(key_id: str, context: str) -> bytes:
    # The header is authenticated too, so a token cannot be relabelled to another key id.
    return f"{_VERSION}.{key_id}.{context}".encode()


def _parse_token(token: str) -> tuple[str, bytes]:
    if not isinstance(token, str):
        raise VaultError(f"a sealed secret must be text, not {type(token).__name__}")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _VERSION:
        raise VaultError(
            "this is not a sealed secret (expected 'v1.KEYID.DATA')",
            where="vault",
            fix="store only what Vault.seal returned",
        )
    _, key_id, body = parts
    if not _KEY_ID.fullmatch(key_id) or not _BASE64URL.fullmatch(body):
        raise VaultError("the sealed secret is malformed", where="vault")
    blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    # Only the canonical encoding is accepted: a changed padding bit must not open the same token.
    canonical = base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")
    if canonical != body or len(blob) < _NONCE_BYTES + _TAG_BYTES:
        raise VaultError("the sealed secret is malformed or truncated", where="vault")
    return key_id, blob


def _load_or_create_dev_key(data_dir: Path) -> tuple[dict[str, bytes], str]:
    path = data_dir / _DEV_KEY_FILE
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    created = False
    try:
        # O_EXCL: two processes starting at once cannot both write a key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(generate_key("dev") + "\n")
        created = True
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        logger.warning("vault.dev_key_permissions path=%s mode=%o fixed_to=600", path, mode)
        path.chmod(0o600)
    # Said loudly once, when the key is made; every later command that opens it (each CLI
    # call does) would otherwise open with the same warning.
    logger.log(
        logging.WARNING if created else logging.DEBUG,
        "vault.dev_key path=%s created=%s message=%r",
        path,
        created,
        "secrets are sealed with a development key; set POWERSTRIP_VAULT_KEYS for production",
    )
    try:
        return parse_keys(path.read_text(encoding="ascii"))
    except (ConfigError, UnicodeDecodeError):
        raise ConfigError(
            "the development vault key file is damaged",
            where=str(path),
            fix="restore it from a backup, or set POWERSTRIP_VAULT_KEYS",
        ) from None  # the cause could quote the key's bytes
