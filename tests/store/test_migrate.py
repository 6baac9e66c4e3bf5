"""Migrations build the whole schema, agree with the models, and say where a database is."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

import powerstrip.store
from powerstrip.errors import StoreError
from powerstrip.store import (
    Base,
    create_engine,
    current_revision,
    head_revision,
    require_head,
    upgrade,
)
from powerstrip.store.fulltext import is_full_text_object
from powerstrip.store.migrate import alembic_config

pytestmark = pytest.mark.anyio

EXPECTED_TABLES = {
    "users",
    "plugins",
    "registrations",
    "installs",
    "credentials",
    "oauth_states",
    "conversations",
    "conversation_plugins",
    "messages",
    "calls",
    "approvals",
    "grants",
    "api_tokens",
    "host_secrets",
    "sign_in_uses",
    "documents",
    "chunks",
    "api_objects",
    "api_file_contents",
    "api_replays",
    "feedback",
    "exports",
    "mcp_auth_codes",
    "mcp_clients",
    "mcp_connections",
    "mcp_tokens",
    "passwords",
    "web_sessions",
    "jobs",
}


def _table_names(connection: Connection) -> set[str]:
    names = inspect(connection).get_table_names()
    return {name for name in names if not is_full_text_object(name)}


def _full_text_objects(connection: Connection) -> set[str]:
    inspector = inspect(connection)
    names = set(inspector.get_table_names())
    names |= {index["name"] or "" for index in inspector.get_indexes("chunks")}
    return {name for name in names if is_full_text_object(name)}


def inspect_names(connection: Connection) -> list[str]:
    return inspect(connection).get_table_names()


def _outside_models(name: str | None, type_: str, _parents: object) -> bool:
    return not (type_ in ("table", "index") and is_full_text_object(name))


def _diffs(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": _outside_models}
    )
    return list(compare_metadata(context, Base.metadata))


def _downgrade_to_base(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


async def test_the_models_define_exactly_the_planned_tables() -> None:
    assert set(Base.metadata.tables) == EXPECTED_TABLES


async def test_upgrade_creates_every_table_on_a_fresh_database(database_url: URL) -> None:
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(_table_names)
    finally:
        await engine.dispose()
    assert tables == EXPECTED_TABLES | {"alembic_version"}


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        diffs = await connection.run_sync(_diffs)
    assert diffs == [], "the models changed without a migration: add one in migrations/versions/"


async def test_revision_is_none_before_and_head_after_upgrade(database_url: URL) -> None:
    assert await current_revision(database_url) is None
    await upgrade(database_url)
    assert await current_revision(database_url) == head_revision() == _newest_script()


async def test_upgrading_a_current_database_changes_nothing(engine: AsyncEngine) -> None:
    await upgrade(engine.url)
    await require_head(engine)


async def test_require_head_refuses_an_unmigrated_database(database_url: URL) -> None:
    engine = create_engine(database_url)
    try:
        with pytest.raises(
            StoreError, match=f"at migration none, the code needs {_newest_script()}"
        ):
            await require_head(engine)
    finally:
        await engine.dispose()


async def test_upgrade_creates_the_full_text_index(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        names = await connection.run_sync(_full_text_objects)
    expected = {"chunks_fts"} if engine.dialect.name == "sqlite" else {"chunks_fts_english"}
    assert expected <= names


async def test_downgrade_to_base_removes_every_table(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_downgrade_to_base)
    async with engine.connect() as connection:
        assert await connection.run_sync(_table_names) == {"alembic_version"}
        assert set(await connection.run_sync(inspect_names)) == {"alembic_version"}


async def test_processes_starting_at_once_migrate_once(database_url: URL) -> None:
    errors: list[Exception] = []

    async def start() -> None:
        # Errors are collected, not raised: a failing task would cancel the others mid-migration.
        try:
            await upgrade(database_url)
        except Exception as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(start)
    assert errors == []
    assert await current_revision(database_url) == head_revision()


def _newest_script() -> str:
    """The number of the newest migration file: the chain must end there."""
    versions = Path(powerstrip.store.__file__).parent / "migrations" / "versions"
    return max(path.name.split("_", 1)[0] for path in versions.glob("[0-9]*_*.py"))
