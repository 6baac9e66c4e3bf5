"""Alembic's environment for Powerstrip: configured from code, never from an alembic.ini.

`powerstrip.store.migrate` passes an open connection in `config.attributes["connection"]`.
Without one (a `command.*` call given only `sqlalchemy.url`), an async engine is opened here.
Offline mode (`--sql`) renders the SQL for the URL's dialect instead of running it.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from powerstrip.errors import StoreError
from powerstrip.store.engine import create_engine
from powerstrip.store.fulltext import is_full_text_object
from powerstrip.store.models import Base

target_metadata = Base.metadata
config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_name=_include_name,
        # SQLite cannot ALTER most things: later migrations copy-and-move tables in batch mode.
        render_as_batch=connection.dialect.name == "sqlite",
    )


def _include_name(name: str | None, type_: str, _parents: object) -> bool:
    # The full-text index is made by hand-written SQL (migration 0006), not by the models.
    return not (type_ in ("table", "index") and is_full_text_object(name))


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def main() -> None:
    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=target_metadata,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise StoreError(
            "the migrations got neither a connection nor a database URL",
            where="powerstrip.store.migrations",
            fix="run them through powerstrip.store.upgrade(url)",
        )
    asyncio.run(_run_with_own_engine(url))


main()
