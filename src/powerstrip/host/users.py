"""Users and their REST API tokens.

A token is shown once, when it is issued; the store keeps only its SHA-256, so a copy of the
database opens no account. Tokens carry a `pst_` prefix so secret scanners and people can tell
what they are, and scopes (`chat`, `files`, `admin`) that bound what a leaked one can do.

Edges use the `Users` service (`host.users`), which takes the acting user and checks the admin
rule inside; the module functions below are its parts.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import AccessError, InvalidInputError, NotFoundError
from powerstrip.host.token_cache import TokenOwners
from powerstrip.logs import remember_secret
from powerstrip.names import ALL_SCOPES, DEV_USER
from powerstrip.store import ApiToken, User, transaction, utcnow

__all__ = [
    "ALL_SCOPES",
    "DEV_USER",
    "TOKEN_PREFIX",
    "IssuedToken",
    "TokenInfo",
    "UserInfo",
    "Users",
    "ensure_user",
    "find_user",
    "hash_token",
    "issue_token",
    "require_admin",
    "revoke_tokens",
    "user_for_token",
]

TOKEN_PREFIX = "pst_"  # noqa: S105 - a prefix that marks tokens, not a secret
_TOKEN_BYTES = 32
_LAST_USED_STEP = timedelta(hours=1)

_DEFAULT_SCOPES = ("chat", "files")


@dataclass(frozen=True, slots=True)
class UserInfo:
    """Who is calling, and what the credential they called with lets them do.

    `scopes` are the token's (every scope for the CLI and for development mode's `dev`).
    """

    id: int
    username: str
    is_admin: bool
    subdivision: str | None
    scopes: frozenset[str] = ALL_SCOPES

    def may(self, scope: str) -> bool:
        """Whether the credential allows `scope` (`admin` also needs an admin account)."""
        return scope in self.scopes and (scope != "admin" or self.is_admin)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token: `token` is the only time its plaintext exists."""

    id: int
    token: str
    name: str
    scopes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as its owner may see it later: never the token itself."""

    id: int
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.username, user.is_admin, user.subdivision)


def _scopes_of(scopes: str) -> tuple[str, ...]:
    """The known scopes of a token's stored scope list."""
    return tuple(sorted(set(scopes.split()) & ALL_SCOPES))


def check_scopes(user: UserInfo, scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes asked for, checked: known ones only, `admin` only for admins."""
    asked = tuple(sorted(set(scopes)))
    unknown = [scope for scope in asked if scope not in ALL_SCOPES]
    if unknown or not asked:
        raise InvalidInputError(
            f"unknown token scope {unknown[0]!r}" if unknown else "a token needs a scope",
            where="scopes",
            fix=f"choose among {', '.join(sorted(ALL_SCOPES))}",
        )
    beyond = [scope for scope in asked if scope not in user.scopes]
    if beyond:
        # A token may only mint tokens that can do less: a leaked `files` token must not
        # become a `chat` one.
        raise AccessError(
            f"the credential of this request does not have the {beyond[0]!r} scope",
            where="scopes",
            fix="ask only for scopes your own token has",
        )
    if "admin" in asked and not user.is_admin:
        raise AccessError(
            "only an admin's token may have the admin scope",
            where=f"user {user.username}",
            fix="leave out the admin scope",
        )
    return asked


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
    # Read first: the development user is ensured on every request made without a token, and
    # a write transaction each time would queue them all behind SQLite's one writer.
    async with sessions() as session:
        found = (
            await session.execute(select(User).where(User.username == username))
        ).scalar_one_or_none()
        if found is not None:
            return _info(found)
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
    sessions: async_sessionmaker[AsyncSession],
    user_id: int,
    name: str = "",
    scopes: Iterable[str] = tuple(sorted(ALL_SCOPES)),
) -> str:
    """A new API token for the user; the only time its plaintext exists."""
    return (await _issue(sessions, user_id, name, tuple(scopes))).token


async def _issue(
    sessions: async_sessionmaker[AsyncSession],
    user_id: int,
    name: str,
    scopes: tuple[str, ...],
) -> IssuedToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
    remember_secret(token)
    row = ApiToken(
        user_id=user_id, name=name[:100], token_hash=hash_token(token), scopes=" ".join(scopes)
    )
    async with transaction(sessions) as session:
        session.add(row)
        await session.flush()
        token_id = row.id
    return IssuedToken(token_id, token, name[:100], scopes)


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


# A token's user and scopes in one query, built once: every API request asks it.
_TOKEN_OWNER = (
    select(
        User.id,
        User.username,
        User.is_admin,
        User.subdivision,
        ApiToken.scopes,
        ApiToken.last_used_at,
    )
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("digest"))
)


async def user_for_token(sessions: async_sessionmaker[AsyncSession], token: str) -> UserInfo | None:
    """The user a token belongs to, or None for an unknown token."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    return await _owner_of(sessions, hash_token(token))


async def _owner_of(sessions: async_sessionmaker[AsyncSession], digest: str) -> UserInfo | None:
    async with sessions() as session:
        row = (await session.execute(_TOKEN_OWNER, {"digest": digest})).one_or_none()
    if row is None:
        return None
    scopes = frozenset(_scopes_of(row.scopes))
    stale = row.last_used_at is None or utcnow() - row.last_used_at > _LAST_USED_STEP
    if stale:
        # At most one write an hour per token: a write per request would queue every API call
        # behind SQLite's single writer.
        async with transaction(sessions) as session:
            await session.execute(
                update(ApiToken).where(ApiToken.token_hash == digest).values(last_used_at=utcnow())
            )
    return UserInfo(row.id, row.username, row.is_admin, row.subdivision, scopes=scopes)


class Users:
    """Accounts and their API tokens, for the user acting on them.

    `token_cache_seconds` is how long a checked token's owner is kept (token_cache.py), on
    `clock` (monotonic seconds).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        token_cache_seconds: float = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._owners = TokenOwners(token_cache_seconds, clock=clock)

    async def ensure(self, username: str, *, admin: bool = False) -> UserInfo:
        """The user called `username`, created when missing (an existing one keeps its role)."""
        return await ensure_user(self._sessions, username, admin=admin)

    async def find(self, username: str) -> UserInfo:
        """The user called `username`, or NotFoundError."""
        return await find_user(self._sessions, username)

    async def get(self, user_id: int) -> UserInfo:
        """The user with this id, or NotFoundError."""
        async with self._sessions() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise NotFoundError(
                f"no user with id {user_id}", where="users", fix="list the users to find the id"
            )
        return _info(user)

    async def list_users(self, actor: UserInfo) -> list[UserInfo]:
        """Admin: every user, by name."""
        require_admin(actor)
        async with self._sessions() as session:
            rows = (await session.execute(select(User).order_by(User.username))).scalars().all()
        return [_info(row) for row in rows]

    async def issue_token(
        self, user: UserInfo, *, name: str = "", scopes: Iterable[str] = _DEFAULT_SCOPES
    ) -> IssuedToken:
        """A new token for the user: shown once, then only its digest is kept."""
        return await _issue(self._sessions, user.id, name, check_scopes(user, scopes))

    async def tokens(self, user: UserInfo) -> list[TokenInfo]:
        """The user's tokens, newest first, without the tokens themselves."""
        async with self._sessions() as session:
            rows = (
                (
                    await session.execute(
                        select(ApiToken)
                        .where(ApiToken.user_id == user.id)
                        .order_by(ApiToken.id.desc())
                    )
                )
                .scalars()
                .all()
            )
        return [
            TokenInfo(row.id, row.name, _scopes_of(row.scopes), row.created_at, row.last_used_at)
            for row in rows
        ]

    async def revoke_token(self, user: UserInfo, token_id: int) -> None:
        """Revoke one of the user's tokens; another user's id is NotFoundError."""
        async with transaction(self._sessions) as session:
            row = await session.get(ApiToken, token_id)
            if row is None or row.user_id != user.id:
                raise NotFoundError(
                    f"no token with id {token_id}",
                    where="tokens",
                    fix="list your tokens to find the id",
                )
            await session.delete(row)
        self._owners.clear()

    async def revoke_all(self, user: UserInfo) -> int:
        """Revoke every token of the user; returns how many there were."""
        try:
            return await revoke_tokens(self._sessions, user.id)
        finally:
            self._owners.clear()

    def forget_tokens(self) -> None:
        """Ask the store again for every token: one went with its account (`host.data`)."""
        self._owners.clear()

    async def authenticate(self, token: str) -> UserInfo | None:
        """The user a token belongs to, carrying the token's scopes; None for an unknown token.

        Asked of the store at most once a `token_cache_seconds` per token (token_cache.py).
        """
        if not token.startswith(TOKEN_PREFIX):
            return None
        digest = hash_token(token)
        owner = self._owners.get(digest)
        if owner is not None:
            return owner
        generation = self._owners.generation
        owner = await _owner_of(self._sessions, digest)
        if owner is not None:
            self._owners.put(digest, owner, generation)
        return owner


def require_admin(user: UserInfo) -> None:
    """AccessError unless the user is an admin calling with the admin scope: the one admin rule
    every host service and edge applies."""
    if not user.may("admin"):
        raise AccessError(
            "only an admin may do this, with a token that has the admin scope",
            where=f"user {user.username}",
            fix="ask an admin",
        )
