"""Todo lists in SQLite: one table, one row per todo, keyed by the list's owner."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, delete, insert, select

from powerstrip.examples.database import open_database
from powerstrip.examples.todo.models import Todo

__all__ = ["METADATA", "TodoStore"]

METADATA = MetaData()

todos = Table(
    "todos",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner", String, nullable=False, index=True),
    Column("text", String, nullable=False),
    Column("created_at", Float, nullable=False),
)


class TodoStore:
    """Add, list and delete todos; every call names the owner, so lists never mix."""

    def __init__(self, path: Path) -> None:
        self.engine = open_database(path, METADATA)

    def add(self, owner: str, text: str) -> Todo:
        """Append a todo to `owner`'s list."""
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(todos).returning(todos.c.id),
                {"owner": owner, "text": text, "created_at": time.time()},
            )
            todo_id = result.scalar_one()
        return Todo(id=todo_id, todo=text)

    def todos(self, owner: str) -> list[Todo]:
        """`owner`'s todos, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(todos.c.id, todos.c.text).where(todos.c.owner == owner).order_by(todos.c.id)
            ).all()
        return [Todo(id=row.id, todo=row.text) for row in rows]

    def delete(self, owner: str, todo_id: int) -> Todo | None:
        """Remove one of `owner`'s todos; None when `owner` has no todo with that id."""
        with self.engine.begin() as conn:
            row = conn.execute(
                delete(todos)
                .where(todos.c.id == todo_id, todos.c.owner == owner)
                .returning(todos.c.id, todos.c.text)
            ).first()
        return Todo(id=row.id, todo=row.text) if row else None
