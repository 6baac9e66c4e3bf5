"""`upsert`: insert a row, or update the one already there, in one statement.

Two requests that write the same unique row at once (two conversations "always allowing" the
same operation) must both succeed. A read-then-insert cannot promise that: both read nothing,
and the second insert breaks the unique constraint. SQLite and PostgreSQL both decide it in the
database, atomically, with `INSERT ... ON CONFLICT (...) DO UPDATE`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

__all__ = ["upsert"]


async def upsert(
    session: AsyncSession,
    model: type[DeclarativeBase],
    values: Mapping[str, Any],  # Any: column values of any type
    *,
    key: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert `values`, or, when a row with the same `key` columns exists, set its `update` ones.

    `key` must be the columns of a unique constraint (or the primary key) of `model`.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(dict(values))
    statement = statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: statement.excluded[name] for name in update},
    )
    await session.execute(statement)
