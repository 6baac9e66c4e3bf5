"""A call may be made outside a conversation: by an MCP client, for one user.

`calls.conversation_id` becomes nullable; a call without one was made through `powerstrip mcp
serve` or the server's `/mcp` endpoint, and is still the user's (its `user_id`).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.alter_column("conversation_id", existing_type=sa.String(length=36), nullable=True)


def downgrade() -> None:
    # Calls made outside a conversation have nowhere to go in the older schema.
    op.execute("DELETE FROM calls WHERE conversation_id IS NULL")
    with op.batch_alter_table("calls") as batch:
        batch.alter_column("conversation_id", existing_type=sa.String(length=36), nullable=False)
