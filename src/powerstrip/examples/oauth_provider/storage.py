"""The provider's SQLite tables: clients, users, authorization codes and tokens.

Codes and tokens are stored as SHA-256 digests, never as the strings handed out: a copy of
the database does not let anyone call the plugin. Passwords and client secrets are scrypt
hashes. Single-use rules (a code, a refresh token) are enforced by conditional UPDATEs, so two
concurrent requests with the same value cannot both win.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from powerstrip.examples.oauth_provider.models import AuthorizationCode, Client, Token, User
from powerstrip.examples.oauth_provider.passwords import hash_password, verify_password

__all__ = ["METADATA", "ProviderStore"]

METADATA = MetaData()

clients = Table(
    "oauth_clients",
    METADATA,
    Column("client_id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("secret_hash", String, nullable=False),
    Column("redirect_uris", Text, nullable=False),  # one per line
    Column("scope", String, nullable=False),
)
users = Table(
    "oauth_users",
    METADATA,
    Column("id", String, primary_key=True),
    Column("username", String, nullable=False, unique=True),
    Column("password_hash", String, nullable=False),
)
codes = Table(
    "oauth_codes",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code_hash", String, nullable=False, unique=True),
    Column("client_id", ForeignKey("oauth_clients.client_id"), nullable=False),
    Column("user_id", ForeignKey("oauth_users.id"), nullable=False),
    Column("redirect_uri", String, nullable=False),
    Column("scope", String, nullable=False),
    Column("code_challenge", String),
    Column("code_challenge_method", String),
    Column("expires_at", Float, nullable=False),
    Column("used", Boolean, nullable=False, default=False),
)
tokens = Table(
    "oauth_tokens",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("access_hash", String, nullable=False, unique=True),
    Column("refresh_hash", String, unique=True),
    Column("client_id", ForeignKey("oauth_clients.client_id"), nullable=False),
    Column("user_id", ForeignKey("oauth_users.id"), nullable=False),
    Column("scope", String, nullable=False),
    # The authorization code this token descends from, through any number of refreshes.
    Column("grant_id", Integer, nullable=False, index=True),
    Column("issued_at", Float, nullable=False),
    Column("expires_in", Integer, nullable=False),
    Column("refresh_expires_at", Float, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _token(row: Any) -> Token:  # Any: a SQLAlchemy Row
    return Token(
        id=row.id,
        client_id=row.client_id,
        user_id=row.user_id,
        scope=row.scope,
        grant_id=row.grant_id,
        issued_at=row.issued_at,
        expires_in=row.expires_in,
        revoked=row.revoked,
    )


class ProviderStore:
    """Reads and writes the provider's tables; every method is one short transaction."""

    def __init__(self, engine: Engine, *, refresh_token_seconds: int) -> None:
        self._engine = engine
        self._refresh_seconds = refresh_token_seconds

    # -- provisioning ----------------------------------------------------------------------

    def put_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: Iterable[str],
        *,
        name: str,
        scope: str,
    ) -> None:
        """Create the client, or replace its secret, redirect URIs, name and scope."""
        values = {
            "name": name,
            "secret_hash": hash_password(client_secret),
            "redirect_uris": "\n".join(redirect_uris),
            "scope": scope,
        }
        with self._engine.begin() as conn:
            done = conn.execute(update(clients).where(clients.c.client_id == client_id), values)
            if done.rowcount == 0:
                conn.execute(insert(clients), {"client_id": client_id, **values})

    def put_user(self, username: str, password: str) -> User:
        """Create the user, or set a new password; the user's id is their username."""
        values = {"password_hash": hash_password(password)}
        with self._engine.begin() as conn:
            done = conn.execute(update(users).where(users.c.username == username), values)
            if done.rowcount == 0:
                conn.execute(insert(users), {"id": username, "username": username, **values})
        return User(id=username, username=username)

    # -- lookups -----------------------------------------------------------------------------

    def client(self, client_id: str) -> Client | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(clients).where(clients.c.client_id == client_id)).first()
        if row is None:
            return None
        return Client(
            client_id=row.client_id,
            name=row.name,
            secret_hash=row.secret_hash,
            redirect_uris=tuple(row.redirect_uris.splitlines()),
            scope=row.scope,
        )

    def user(self, user_id: str) -> User | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        return User(id=row.id, username=row.username) if row else None

    def sign_in(self, username: str, password: str) -> User | None:
        """The user when the password is right; None otherwise, in the same time either way."""
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        # Hash even for an unknown name, so timing does not reveal which usernames exist.
        matches = verify_password(password, row.password_hash if row is not None else None)
        if row is None or not matches:
            return None
        return User(id=row.id, username=row.username)

    # -- codes -------------------------------------------------------------------------------

    def save_code(self, code: str, fields: Mapping[str, str | None], lifetime: int) -> None:
        """Remember a freshly issued code (`fields`: client_id, user_id, redirect_uri, ...)."""
        with self._engine.begin() as conn:
            conn.execute(
                insert(codes),
                {**fields, "code_hash": _digest(code), "expires_at": time.time() + lifetime},
            )

    def consume_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        """The code's grant, marking it used; None when unknown, expired, or already used.

        A second use of a code revokes every token it yielded (RFC 6749 §4.1.2): it was
        probably stolen.
        """
        with self._engine.begin() as conn:
            row = conn.execute(select(codes).where(codes.c.code_hash == _digest(code))).first()
            if row is None or row.client_id != client_id:
                return None
            won = conn.execute(
                update(codes).where(codes.c.id == row.id, codes.c.used.is_(False)),
                {"used": True},
            )
            if won.rowcount != 1:
                conn.execute(update(tokens).where(tokens.c.grant_id == row.id), {"revoked": True})
                return None
        if row.expires_at <= time.time():
            return None
        return AuthorizationCode(
            id=row.id,
            client_id=row.client_id,
            user_id=row.user_id,
            redirect_uri=row.redirect_uri,
            scope=row.scope,
            code_challenge=row.code_challenge,
            code_challenge_method=row.code_challenge_method,
        )

    # -- tokens ------------------------------------------------------------------------------

    def save_token(
        self, token: Mapping[str, Any], *, client_id: str, user_id: str, grant_id: int
    ) -> None:  # Any: the token response's JSON values
        """Remember an issued token response (access token, refresh token, scope, expiry)."""
        now = time.time()
        refresh = token.get("refresh_token")
        with self._engine.begin() as conn:
            conn.execute(
                insert(tokens),
                {
                    "access_hash": _digest(str(token["access_token"])),
                    "refresh_hash": _digest(str(refresh)) if refresh else None,
                    "client_id": client_id,
                    "user_id": user_id,
                    "scope": str(token.get("scope", "")),
                    "grant_id": grant_id,
                    "issued_at": now,
                    "expires_in": int(token.get("expires_in", 0)),
                    "refresh_expires_at": now + self._refresh_seconds,
                },
            )

    def consume_refresh_token(self, refresh_token: str, client_id: str) -> Token | None:
        """The token a refresh token belongs to, revoking it (rotation); None if not usable.

        Revoking here rather than after the new token is issued makes the check and the
        revocation one step, so two concurrent refreshes cannot both succeed.
        """
        digest = _digest(refresh_token)
        with self._engine.begin() as conn:
            won = conn.execute(
                update(tokens).where(
                    tokens.c.refresh_hash == digest,
                    tokens.c.client_id == client_id,
                    tokens.c.revoked.is_(False),
                    tokens.c.refresh_expires_at > time.time(),
                ),
                {"revoked": True},
            )
            if won.rowcount != 1:
                return None
            row = conn.execute(select(tokens).where(tokens.c.refresh_hash == digest)).one()
        return _token(row)

    def user_for_access_token(self, access_token: str) -> str | None:
        """The user id of a valid, unexpired, unrevoked access token."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(tokens).where(tokens.c.access_hash == _digest(access_token))
            ).first()
        if row is None:
            return None
        token = _token(row)
        if token.is_revoked() or token.is_expired():
            return None
        return token.user_id
