"""Transactions: all rows or none, and the database's refusals as StoreError."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import StoreError
from powerstrip.store import (
    Call,
    Conversation,
    Credential,
    Plugin,
    User,
    create_engine,
    session_factory,
    transaction,
)

pytestmark = pytest.mark.anyio


class BoomError(Exception):
    pass


async def _add(sessions: async_sessionmaker[AsyncSession], *rows: object) -> None:
    """Write `rows` in one transaction, flushing after each so each really reaches the database."""
    async with transaction(sessions) as session:
        for row in rows:
            session.add(row)
            await session.flush()


async def _add_then_fail(sessions: async_sessionmaker[AsyncSession], *rows: object) -> None:
    async with transaction(sessions) as session:
        for row in rows:
            session.add(row)
            await session.flush()
        raise BoomError


async def _count(sessions: async_sessionmaker[AsyncSession], model: type[object]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def _plugin(url: str = "https://example.com/.well-known/ai-plugin.json") -> Plugin:
    return Plugin(
        name_for_model="todo",
        manifest_url=url,
        root_domain="example.com",
        manifest={"schema_version": "v1"},
        spec_url="https://example.com/openapi.yaml",
        api_base_url="https://example.com",
        auth_type="none",
    )


async def test_a_committed_block_writes_every_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        session.add_all([User(username="ada"), User(username="grace")])
    assert await _count(sessions, User) == 2


async def test_a_failing_multi_row_write_leaves_no_rows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(BoomError):
        await _add_then_fail(sessions, User(username="ada"), User(username="grace"))
    assert await _count(sessions, User) == 0


async def test_a_refused_second_row_takes_the_first_with_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        session.add(User(username="ada"))
    with pytest.raises(StoreError):
        await _add(sessions, _plugin(), User(username="ada"))
    assert await _count(sessions, Plugin) == 0
    assert await _count(sessions, User) == 1


async def test_a_duplicate_unique_value_is_a_store_error_naming_table_and_column(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        session.add(User(username="ada-the-unique"))
    with pytest.raises(StoreError) as caught:
        await _add(sessions, User(username="ada-the-unique"))
    error = caught.value
    assert error.where == "users"
    assert "UNIQUE constraint" in error.message
    assert "username" in error.message
    assert "already exists" in (error.fix or "")
    assert "ada-the-unique" not in str(error), "a refused value is never quoted"


async def test_a_composite_unique_constraint_is_a_store_error(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        user, plugin = User(username="ada"), _plugin()
        session.add_all([user, plugin])
        await session.flush()
        session.add(
            Credential(
                user_id=user.id, plugin_id=plugin.id, kind="user_key", secret_sealed="v1.k.x"
            )
        )
    with pytest.raises(StoreError, match="UNIQUE constraint") as caught:
        async with transaction(sessions) as session:
            session.add(
                Credential(user_id=user.id, plugin_id=plugin.id, kind="oauth", secret_sealed="y")
            )
    assert caught.value.where == "credentials"


async def test_a_value_outside_the_allowed_set_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        user, plugin = User(username="ada"), _plugin()
        session.add_all([user, plugin])
        await session.flush()
        conversation = Conversation(user_id=user.id)
        session.add(conversation)
    call = Call(
        conversation_id=conversation.id,
        user_id=user.id,
        plugin_id=plugin.id,
        function_name="todo__list",
        operation_id="list",
        method="GET",
        url="https://example.com/todos",
        request={},
        outcome="exploded",
    )
    with pytest.raises(StoreError, match="CHECK constraint"):
        await _add(sessions, call)
    assert await _count(sessions, Call) == 0


async def test_an_unmigrated_database_is_a_store_error_that_says_so(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(StoreError, match="not migrated") as caught:
            await _add(session_factory(engine), User(username="ada"))
    finally:
        await engine.dispose()
    assert caught.value.where == "users"
    assert "upgrade" in (caught.value.fix or "")


async def test_a_read_outside_a_transaction_is_refused_as_store_error(tmp_path: Path) -> None:
    # An unmigrated database: the read is refused by the database itself, not by our code.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        async with session_factory(engine)() as session:
            with pytest.raises(StoreError) as refused:
                await session.execute(select(User))
        assert refused.value.where == "users"
        assert "migration" in (refused.value.fix or "")
    finally:
        await engine.dispose()


_USERS = User.metadata.tables[User.__tablename__]
