"""The user keys `todo-user` accepts: issued per user, stored only as SHA-256 digests.

A key is 32 random bytes, so a plain digest is enough (unlike a password it cannot be guessed)
and lets every call be checked with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path

from sqlalchemy import Boolean, Column, Float, MetaData, String, Table, insert, select, update

from powerstrip.examples.database import open_database

__all__ = ["UserKeys"]

METADATA = MetaData()

user_keys = Table(
    "user_keys",
    METADATA,
    Column("key_hash", String, primary_key=True),
    Column("user_id", String, nullable=False, index=True),
    Column("issued_at", Float, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)

_PREFIX = "todo_"  # makes a leaked key recognisable to secret scanners


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class UserKeys:
    """Issue, check and revoke the keys users paste into the host."""

    def __init__(self, path: Path, *, prefix: str = _PREFIX) -> None:
        self._prefix = prefix
        self.engine = open_database(path, METADATA)

    def issue(self, user_id: str) -> str:
        """A new key for `user_id`; it is shown once and only its digest is kept."""
        if not user_id:
            raise ValueError("a user key needs a user id")
        key = self._prefix + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                insert(user_keys),
                {"key_hash": _digest(key), "user_id": user_id, "issued_at": time.time()},
            )
        return key

    def user_for(self, key: str) -> str | None:
        """The user a key was issued to, or None for an unknown or revoked key."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(user_keys.c.user_id).where(
                    user_keys.c.key_hash == _digest(key), user_keys.c.revoked.is_(False)
                )
            ).first()
        return row.user_id if row else None

    def revoke(self, key: str) -> bool:
        """Stop accepting a key; False when it was not known."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(user_keys).where(user_keys.c.key_hash == _digest(key)), {"revoked": True}
            )
        return done.rowcount > 0
