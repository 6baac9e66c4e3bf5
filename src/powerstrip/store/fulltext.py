"""The full-text index over chunk text lives outside the models: this names it.

SQLite's FTS5 table (`chunks_fts` and its shadow tables `chunks_fts_data`, ...) and PostgreSQL's
GIN index (`chunks_fts_english`) are made by migration 0006 with SQL the models cannot express;
Alembic's comparisons and autogenerate leave every object of this prefix aside.
"""

from __future__ import annotations

__all__ = ["FULL_TEXT_PREFIX", "is_full_text_object"]

FULL_TEXT_PREFIX = "chunks_fts"


def is_full_text_object(name: str | None) -> bool:
    """Whether a table or index of this name belongs to the full-text index."""
    return name is not None and name.startswith(FULL_TEXT_PREFIX)
