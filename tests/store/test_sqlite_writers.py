"""SQLite under concurrent writers: queued in the process, one at a time across processes.

Writers of one engine wait for each other in the event loop, however long the queue, and each
transaction sees the rows the previous one committed (read-then-write is atomic). A writer of
another process holding the database longer than the busy timeout is a clear `StoreError`, and
the next transaction after it lets go works.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from powerstrip.errors import StoreError
from powerstrip.store import (
    Conversation,
    Message,
    User,
    create_engine,
    session_factory,
    transaction,
    upgrade,
)

pytestmark = pytest.mark.anyio

_WRITERS = 16
_BUSY_TIMEOUT = 0.2  # seconds: far less than the writers take together


async def test_concurrent_read_then_write_transactions_all_commit_in_turn(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    await upgrade(url)
    engine = create_engine(url, busy_timeout=_BUSY_TIMEOUT)
    sessions = session_factory(engine)
    try:
        async with transaction(sessions) as session:
            user = User(username="ada")
            session.add(user)
            await session.flush()
            conversation = Conversation(user_id=user.id)
            session.add(conversation)
            await session.flush()
            conversation_id = conversation.id

        async def append(n: int) -> None:
            async with transaction(sessions) as session:
                last = await session.scalar(
                    select(func.max(Message.seq)).where(Message.conversation_id == conversation_id)
                )
                session.add(
                    Message(
                        conversation_id=conversation_id,
                        seq=(last or 0) + 1,
                        role="user",
                        content=str(n),
                    )
                )
                await session.flush()
                # The event loop serves other tasks while this transaction is open, as a busy
                # server does between two statements.
                await asyncio.sleep(0.03)

        await asyncio.gather(*(append(n) for n in range(_WRITERS)))
        async with sessions() as session:
            seqs = (await session.execute(select(Message.seq))).scalars().all()
    finally:
        await engine.dispose()
    assert sorted(seqs) == list(range(1, _WRITERS + 1))


async def test_another_process_holding_the_write_lock_is_a_clear_error_then_passes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    engine = create_engine(url, busy_timeout=_BUSY_TIMEOUT)
    sessions = session_factory(engine)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError, match="stayed locked by another writer") as caught:
            async with transaction(sessions) as session:
                session.add(User(username="ada"))
        assert "PostgreSQL" in (caught.value.fix or "")
        other.execute("ROLLBACK")
        async with transaction(sessions) as session:
            session.add(User(username="ada"))
        async with sessions() as session:
            assert await session.scalar(select(func.count()).select_from(User)) == 1
    finally:
        other.close()
        await engine.dispose()
