"""MCP clients of `/mcp` that sign in through the host's OAuth authorization server.

Four tables: the registered clients, each user's connections to them, the authorization codes
and the access and refresh tokens (digests only).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def _client_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["client_id"],
        ["mcp_clients.id"],
        name=op.f(f"fk_{table}_client_id_mcp_clients"),
        ondelete="CASCADE",
    )


def _connection_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["connection_id"],
        ["mcp_connections.id"],
        name=op.f(f"fk_{table}_connection_id_mcp_connections"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "mcp_clients",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("registration", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mcp_clients")),
    )
    op.create_index(op.f("ix_mcp_clients_created_at"), "mcp_clients", ["created_at"])
    op.create_table(
        "mcp_connections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=100), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        _user_fk("mcp_connections"),
        _client_fk("mcp_connections"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mcp_connections")),
        sa.UniqueConstraint(
            "user_id", "client_id", name=op.f("uq_mcp_connections_user_id_client_id")
        ),
    )
    op.create_index(op.f("ix_mcp_connections_client_id"), "mcp_connections", ["client_id"])
    op.create_table(
        "mcp_auth_codes",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("redirect_uri_explicit", sa.Boolean(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("scopes", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _user_fk("mcp_auth_codes"),
        _client_fk("mcp_auth_codes"),
        _connection_fk("mcp_auth_codes"),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_mcp_auth_codes")),
    )
    op.create_index(op.f("ix_mcp_auth_codes_expires_at"), "mcp_auth_codes", ["expires_at"])
    op.create_index(op.f("ix_mcp_auth_codes_user_id"), "mcp_auth_codes", ["user_id"])
    op.create_index(op.f("ix_mcp_auth_codes_client_id"), "mcp_auth_codes", ["client_id"])
    op.create_table(
        "mcp_tokens",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('access', 'refresh')", name=op.f("ck_mcp_tokens_kind")),
        _connection_fk("mcp_tokens"),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_mcp_tokens")),
    )
    op.create_index(op.f("ix_mcp_tokens_connection_id"), "mcp_tokens", ["connection_id"])
    op.create_index(op.f("ix_mcp_tokens_expires_at"), "mcp_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_mcp_tokens_expires_at"), table_name="mcp_tokens")
    op.drop_index(op.f("ix_mcp_tokens_connection_id"), table_name="mcp_tokens")
    op.drop_table("mcp_tokens")
    op.drop_index(op.f("ix_mcp_auth_codes_client_id"), table_name="mcp_auth_codes")
    op.drop_index(op.f("ix_mcp_auth_codes_user_id"), table_name="mcp_auth_codes")
    op.drop_index(op.f("ix_mcp_auth_codes_expires_at"), table_name="mcp_auth_codes")
    op.drop_table("mcp_auth_codes")
    op.drop_index(op.f("ix_mcp_connections_client_id"), table_name="mcp_connections")
    op.drop_table("mcp_connections")
    op.drop_index(op.f("ix_mcp_clients_created_at"), table_name="mcp_clients")
    op.drop_table("mcp_clients")
