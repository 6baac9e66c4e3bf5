"""The OpenAI-compatible API's objects, uploaded files' bytes, and idempotent replays.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = (
    "file",
    "vector_store",
    "vector_store_file",
    "file_batch",
    "response",
    "conversation",
    "item",
    "assistant",
    "run",
)


def upgrade() -> None:
    kinds = ", ".join(f"'{kind}'" for kind in _KINDS)
    op.create_table(
        "api_objects",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"kind IN ({kinds})", name=op.f("ck_api_objects_kind")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_api_objects_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_api_objects")),
        sa.UniqueConstraint("id", name=op.f("uq_api_objects_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_api_objects_user_id_kind_parent_id_seq"),
        "api_objects",
        ["user_id", "kind", "parent_id", "seq"],
        unique=False,
    )
    op.create_table(
        "api_file_contents",
        sa.Column("file_id", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_api_file_contents_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_id", name=op.f("pk_api_file_contents")),
    )
    op.create_table(
        "api_replays",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("retry_ref", sa.String(length=64), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_api_replays_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "retry_ref", name=op.f("pk_api_replays")),
    )
    op.create_index(op.f("ix_api_replays_created_at"), "api_replays", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_api_replays_created_at"), table_name="api_replays")
    op.drop_table("api_replays")
    op.drop_table("api_file_contents")
    op.drop_index(op.f("ix_api_objects_user_id_kind_parent_id_seq"), table_name="api_objects")
    op.drop_table("api_objects")
