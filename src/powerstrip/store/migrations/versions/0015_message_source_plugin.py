"""The plugin a tool message answers for: `messages.source_plugin`.

A tool result is marked as its plugin's data when it goes to a model (the prompt-injection
defence of docs/security.md). The plugin was worked out again at every turn from the enabled
plugins, over the whole history, so a long conversation paid for every result it ever had, and
a result of a plugin disabled since went to the model unmarked. The namespace of the plugin
that answered is now kept with the message when it is written. Older rows keep NULL and are
labelled as before.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("source_plugin", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("source_plugin")
