"""An index on `messages.created_at`, for the periodic recovery sweep.

The sweep (`host/turn_recovery.py`, every `POWERSTRIP_TURN_RECOVERY_INTERVAL_SECONDS`) looks
at the conversations whose last message is of the last day. Without an index it grouped every
message of the store by conversation before keeping the recent ones, so its cost grew with the
whole history rather than with the day's traffic.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_messages_created_at"), "messages", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_messages_created_at"), table_name="messages")
