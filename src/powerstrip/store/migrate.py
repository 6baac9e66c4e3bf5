"""Migrations, run programmatically: no alembic.ini, the scripts ship inside the package.

`await upgrade(url)` brings a database to the newest revision; the server calls it at startup,
and it is a no-op when there is nothing to do. `await current_revision(url)` says where a
database is; `head_revision()` where the code is.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from powerstrip.errors import StoreError
from powerstrip.store.engine import create_engine, display_url
from powerstrip.store.session import store_error

__all__ = [
    "alembic_config",
    "current_revision",
    "head_revision",
    "require_head",
    "revision_of",
    "upgrade",
]

_SCRIPT_LOCATION = "powerstrip.store:migrations"
_MIGRATION_LOCK = 0x706F77657273  # an arbitrary bigint naming Powerstrip's migration lock


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic `Config` for the packaged migrations (for `command.*` calls and tests)."""
    config = Config()
    config.set_main_option("script_location", _SCRIPT_LOCATION)
    if url is not None:
        # `%` is interpolation syntax in Alembic's config parser; a password may contain it.
        text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", text.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest migration this code ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # only a broken install has no migration scripts
        raise StoreError("no migration scripts found", where=_SCRIPT_LOCATION)
    return head


async def upgrade(url: str | URL, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (the newest by default), in one transaction."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, revision)
    except DBAPIError as exc:
        raise _migration_error(exc, url) from exc
    finally:
        await engine.dispose()


async def current_revision(url: str | URL) -> str | None:
    """The revision the database at `url` is at; None when it was never migrated."""
    engine = create_engine(url)
    try:
        return await revision_of(engine)
    except DBAPIError as exc:
        raise _migration_error(exc, url) from exc
    finally:
        await engine.dispose()


async def revision_of(engine: AsyncEngine) -> str | None:
    """The revision of the database behind an engine that is already open."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def require_head(engine: AsyncEngine) -> None:
    """Raise `StoreError` unless the database is at the newest migration."""
    current, head = await revision_of(engine), head_revision()
    if current != head:
        raise StoreError(
            f"the database is at migration {current or 'none'}, the code needs {head}",
            where=display_url(engine.url),
            fix="run the migrations (`powerstrip.store.upgrade(url)`, done at startup)",
        )


def _upgrade(connection: Connection, revision: str) -> None:
    # Processes starting at once would race to create the same tables: the first to take the
    # lock migrates, the others wait for its commit and then find nothing to do.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    elif connection.dialect.name == "sqlite":
        # The driver would open the transaction lazily, at the first write, after alembic has
        # already read the (then old) version; IMMEDIATE takes the write lock first.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    config = alembic_config()
    # env.py runs on this connection instead of opening its own (Alembic's connection sharing).
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _migration_error(exc: DBAPIError, url: str | URL) -> StoreError:
    converted = store_error(exc)
    if isinstance(converted, StoreError):
        return converted
    return StoreError(
        f"migrating the database failed: {type(exc.orig).__name__}",
        where=display_url(url),
        fix="check POWERSTRIP_DATABASE_URL and the database's permissions",
    )
