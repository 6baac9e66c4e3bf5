"""Users and their REST API tokens.

A token is shown once, when it is issued; the store keeps only its SHA-256, so a copy of the
database opens no account. Tokens carry a `pst_` prefix so secret scanners and people can tell
what they are.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import NotFoundError
from powerstrip.store import ApiToken, User, transaction, utcnow

__all__ = [
    "DEV_USER",
    "TOKEN_PREFIX",
    "UserInfo",
    "ensure_user",
    "find_user",
    "hash_token",
    "issue_token",
    "revoke_tokens",
    "user_for_token",
]

# The admin user development mode acts as: the server for requests without a token from
# loopback, the CLI by default.
DEV_USER = "dev"
TOKEN_PREFIX = "pst_"  # noqa: S105 - a prefix that marks tokens, not a secret
_TOKEN_BYTES = 32
_LAST_USED_STEP = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class UserInfo:
    """Who is calling."""

    id: int
    username: str
    is_admin: bool
    subdivision: str | None


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.username, user.is_admin, user.subdivision)


def hash_token(token: str) -> str:
    """The digest the store keeps of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def find_user(sessions: async_sessionmaker[AsyncSession], username: str) -> UserInfo:
    """The user called `username`, or NotFoundError."""
    async with sessions() as session:
        user = (
            await session.execute(select(User).where(User.username == username))
        ).scalar_one_or_none()
    if user is None:
        raise NotFoundError(
            f"no user named {username!r}",
            where="users",
            fix=f"create it with `powerstrip users add {username}`",
        )
    return _info(user)


async def ensure_user(
    sessions: async_sessionmaker[AsyncSession], username: str, *, admin: bool = False
) -> UserInfo:
    """The user called `username`, created when missing (an existing user keeps its role)."""
    async with transaction(sessions) as session:
        user = (
            await session.execute(select(User).where(User.username == username))
        ).scalar_one_or_none()
        if user is None:
            user = User(username=username, is_admin=admin)
            session.add(user)
            await session.flush()
        return _info(user)


async def issue_token(
    sessions: async_sessionmaker[AsyncSession], user_id: int, name: str = ""
) -> str:
    """A new API token for the user; the only time its plaintext exists."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
    async with transaction(sessions) as session:
        session.add(ApiToken(user_id=user_id, name=name[:100], token_hash=hash_token(token)))
    return token


async def revoke_tokens(sessions: async_sessionmaker[AsyncSession], user_id: int) -> int:
    """Revoke every token of the user; returns how many there were."""
    async with transaction(sessions) as session:
        rows = (
            (await session.execute(select(ApiToken).where(ApiToken.user_id == user_id)))
            .scalars()
            .all()
        )
        for row in rows:
            await session.delete(row)
        return len(rows)


async def user_for_token(sessions: async_sessionmaker[AsyncSession], token: str) -> UserInfo | None:
    """The user a token belongs to, or None for an unknown token."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = hash_token(token)
    async with sessions() as session:
        row = (
            await session.execute(select(ApiToken).where(ApiToken.token_hash == digest))
        ).scalar_one_or_none()
        if row is None:
            return None
        user = await session.get(User, row.user_id)
        stale = row.last_used_at is None or utcnow() - row.last_used_at > _LAST_USED_STEP
    if stale:
        # At most one write an hour per token: a write per request would queue every API call
        # behind SQLite's single writer.
        async with transaction(sessions) as session:
            await session.execute(
                update(ApiToken).where(ApiToken.token_hash == digest).values(last_used_at=utcnow())
            )
    return None if user is None else _info(user)
