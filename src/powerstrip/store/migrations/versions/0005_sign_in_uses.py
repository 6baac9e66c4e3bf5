"""Sign-in uses: a followed sign-in link is recorded, so each link starts one sign-in only.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_uses",
        sa.Column("link_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("link_hash", name=op.f("pk_sign_in_uses")),
    )
    op.create_index(op.f("ix_sign_in_uses_used_at"), "sign_in_uses", ["used_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_uses_used_at"), table_name="sign_in_uses")
    op.drop_table("sign_in_uses")
