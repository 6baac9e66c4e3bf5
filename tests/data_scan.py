"""Scan every table of a database for what belongs to one user (after account deletion).

Every table the database has, not only the models' (full-text tables, alembic's): each row is
read whole, and a row belongs to the user when a `user_id` or `developer_id` column holds the
user's id, or when any value (text, JSON, bytes) contains one of the needles (the user's name,
text they wrote, secrets they created).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["rows_of_user"]

_OWNER_COLUMNS = ("user_id", "developer_id")


def _scan(connection: Connection, user_id: int, needles: tuple[str, ...]) -> list[str]:
    found = []
    encoded = [needle.encode() for needle in needles]
    for table in inspect(connection).get_table_names():
        result = connection.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608 - own names
        columns = list(result.keys())
        for row in result.all():
            values: dict[str, Any] = dict(zip(columns, row, strict=True))
            for name in _OWNER_COLUMNS:
                if values.get(name) == user_id:
                    found.append(f"{table}.{name} = {user_id}")
            for name, value in values.items():
                data = value if isinstance(value, bytes | memoryview) else str(value).encode()
                for needle, raw in zip(needles, encoded, strict=True):
                    if raw in bytes(data):
                        found.append(f"{table}.{name} holds {needle[:12]!r}")
    return found


async def rows_of_user(engine: AsyncEngine, user_id: int, needles: tuple[str, ...]) -> list[str]:
    """What is left of the user in any table, described (empty: nothing)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_scan, user_id, needles)
