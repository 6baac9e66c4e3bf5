"""Uploads of the OpenAI-compatible API: `upload` and `upload_part` objects.

An upload (`/v1/uploads`) and its parts are objects of `api_objects` like the API's others; a
part's bytes go into `api_file_contents` under the part's id until the upload completes into a
file. Only the check on `api_objects.kind` changes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
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
_NEW_KINDS = ("upload", "upload_part")


def _kind_check(kinds: tuple[str, ...]) -> None:
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    with op.batch_alter_table("api_objects") as batch:
        batch.drop_constraint(op.f("ck_api_objects_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_api_objects_kind"), f"kind IN ({listed})")


def upgrade() -> None:
    _kind_check(_KINDS + _NEW_KINDS)


def downgrade() -> None:
    # The parts' bytes are kept under the parts' ids; an unfinished upload has nowhere to go.
    op.execute(
        "DELETE FROM api_file_contents WHERE file_id IN "
        "(SELECT id FROM api_objects WHERE kind = 'upload_part')"
    )
    op.execute("DELETE FROM api_objects WHERE kind IN ('upload', 'upload_part')")
    _kind_check(_KINDS)
