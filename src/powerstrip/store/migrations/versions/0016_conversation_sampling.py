"""The sampling options an API turn asked for: `conversations.sampling`.

A chat completion that waits for an approval ends, and the person approves at the host's own
link: the rest of that turn ran with the backend's defaults, because the request's
`temperature`, `max_tokens`, ... were nowhere to be found. A conversation opened by an API turn
now keeps them (Chat Completions' field names, as JSON); a resume that brings none uses them.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("sampling", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("sampling")
