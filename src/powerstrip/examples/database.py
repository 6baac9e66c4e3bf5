"""One SQLite file per example, opened with the settings that make it safe under threads.

The examples' operations are sync functions that FastAPI runs in its thread pool, so several
threads write at once: WAL lets readers run beside the writer and the busy timeout makes a
writer wait for the lock instead of failing with "database is locked".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event

__all__ = ["open_database"]

_BUSY_TIMEOUT_SECONDS = 30


def open_database(path: Path, metadata: MetaData) -> Engine:
    """A sync engine on the SQLite file `path` (created with its folder), tables created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite+pysqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": _BUSY_TIMEOUT_SECONDS},
    )

    @event.listens_for(engine, "connect")
    def _configure(connection: Any, _record: Any) -> None:  # Any: the DB-API connection
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    metadata.create_all(engine)
    return engine
