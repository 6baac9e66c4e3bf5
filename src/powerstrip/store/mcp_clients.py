"""The tables of the host's own OAuth authorization server, for MCP clients of `/mcp`.

A client registers itself (RFC 7591) as a public client: `mcp_clients`. A user who allows it on
the consent page gets a short-lived, single-use authorization code (`mcp_auth_codes`); the code
becomes a connection of that user and client (`mcp_connections`, one per user and client), and
the connection holds its access and refresh tokens (`mcp_tokens`). Codes and tokens are kept as
SHA-256 digests only, like API tokens. Revoking a connection is one DELETE: its codes and tokens
go with it, and everything goes when the user or the client goes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from powerstrip.aliases import JSONValue
from powerstrip.store.models import Base, _one_of, _user_fk
from powerstrip.store.types import utcnow

__all__ = ["MCP_TOKEN_KINDS", "McpAuthCode", "McpClient", "McpConnection", "McpToken"]

MCP_TOKEN_KINDS = ("access", "refresh")


def _client_fk() -> ForeignKey:
    return ForeignKey("mcp_clients.id", ondelete="CASCADE")


def _connection_fk() -> ForeignKey:
    return ForeignKey("mcp_connections.id", ondelete="CASCADE")


class McpClient(Base):
    """An MCP client that registered itself: its redirect URIs and what it said it is."""

    __tablename__ = "mcp_clients"
    __table_args__ = (Index(None, "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the client_id
    name: Mapped[str] = mapped_column(String(100), default="")
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    # The registration as answered (RFC 7591 §3.2.1), given back to the client's requests.
    registration: Mapped[dict[str, JSONValue]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class McpConnection(Base):
    """A user's yes to one client: what it may do (`scopes`) at which resource (`/mcp`)."""

    __tablename__ = "mcp_connections"
    __table_args__ = (UniqueConstraint("user_id", "client_id"), Index(None, "client_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(_user_fk())
    client_id: Mapped[str] = mapped_column(_client_fk())
    scopes: Mapped[str] = mapped_column(String(100))
    resource: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()


class McpAuthCode(Base):
    """An authorization code: single-use (`used_at`), short-lived, bound to its PKCE challenge,
    its redirect URI and its resource. After use it remembers its connection, so that a code
    presented again revokes what it was exchanged for (RFC 6749 §4.1.2)."""

    __tablename__ = "mcp_auth_codes"
    __table_args__ = (Index(None, "expires_at"), Index(None, "user_id"), Index(None, "client_id"))

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the code
    user_id: Mapped[int] = mapped_column(_user_fk())
    client_id: Mapped[str] = mapped_column(_client_fk())
    connection_id: Mapped[int | None] = mapped_column(_connection_fk())
    code_challenge: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(Text)
    redirect_uri_explicit: Mapped[bool] = mapped_column(Boolean)
    resource: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class McpToken(Base):
    """An access or refresh token of a connection, as its SHA-256.

    A refresh token is used once: `rotated_at` marks it spent, and the row stays until it
    expires so that a spent one presented again is recognised as stolen (the connection is
    revoked).
    """

    __tablename__ = "mcp_tokens"
    __table_args__ = (
        CheckConstraint(_one_of("kind", MCP_TOKEN_KINDS), name="kind"),
        Index(None, "connection_id"),
        Index(None, "expires_at"),
    )

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[int] = mapped_column(_connection_fk())
    kind: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    rotated_at: Mapped[datetime | None] = mapped_column()
