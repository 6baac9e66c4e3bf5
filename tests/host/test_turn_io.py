"""The I/O of one chat turn: how many SQL statements and commits it costs the store.

Each statement is a round trip to the database (with aiosqlite, several hops to its thread),
and the turn path is what every chat message pays, so its budget is pinned here: a change that
adds a query to every turn must say so by changing this test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from powerstrip.examples import EXAMPLES
from powerstrip.host import Host, UserInfo, ensure_user
from powerstrip.host.grants import add_grant
from powerstrip.runtime import CallFinished, TurnDone
from powerstrip.settings import Settings
from powerstrip.store import Call, Message
from tests.conftest import ServeApp
from tests.examples.conftest import make_config

pytestmark = pytest.mark.anyio

MESSAGE = "show the teams of the 2024 season"
# Reads: the conversation and its plugins, the plugin's stored spec, the history, the grant,
# the credentials (one query); writes: four messages (two statements each) and the call.
STATEMENT_BUDGET = 15
# The user's message, the assistant's call, the call with its result, the final answer.
COMMIT_BUDGET = 4
# Sessions (connection checkouts, each with its rollback or commit): the turn's reads, the
# spec cache, the grant, the credentials, and the four writes above.
CHECKOUT_BUDGET = 8


@dataclass
class Counted:
    host: Host
    user: UserInfo
    conversation_id: str
    statements: list[str] = field(default_factory=list)
    commits: int = 0
    checkouts: int = 0


@pytest.fixture
async def counted(tmp_path: Path, serve_app: ServeApp) -> AsyncIterator[Counted]:
    plugin_server = serve_app(
        EXAMPLES["sports"].build(make_config(tmp_path / "plugins")), tls=False
    )
    settings = Settings(dev_mode=True, data_dir=tmp_path / "host")
    host = await Host.start(settings)
    try:
        plugin = await host.registry.add_plugin(f"http://localhost:{plugin_server.port}")
        user = await ensure_user(host.sessions, "ada")
        await host.registry.install(user.id, plugin.id)
        await add_grant(host.sessions, user.id, plugin.id, "list_teams", 0)
        chat = await host.chats.create(user, plugin_ids=(plugin.id,))
        result = Counted(host, user, chat.id)

        def on_statement(*args: Any) -> None:  # Any: SQLAlchemy's event signature
            statement = " ".join(str(args[2]).split())
            # SQLite's write transactions open with BEGIN IMMEDIATE (the write lock before the
            # first read); that is transaction control, counted with the commits below.
            if statement != "BEGIN IMMEDIATE":
                result.statements.append(statement)

        def on_commit(*args: Any) -> None:
            result.commits += 1

        event.listen(host.engine.sync_engine, "before_cursor_execute", on_statement)

        def on_checkout(*args: Any) -> None:
            result.checkouts += 1

        event.listen(host.engine.sync_engine, "commit", on_commit)
        event.listen(host.engine.sync_engine.pool, "checkout", on_checkout)
        yield result
    finally:
        await host.aclose()


async def turn(counted: Counted) -> list[object]:
    counted.statements.clear()
    counted.commits = 0
    counted.checkouts = 0
    return [
        event
        async for event in counted.host.chats.send(counted.user, counted.conversation_id, MESSAGE)
    ]


async def test_a_turn_with_one_call_stays_within_its_statement_and_commit_budget(
    counted: Counted,
) -> None:
    await turn(counted)  # the first turn also names the conversation
    events = await turn(counted)
    finished = [e for e in events if isinstance(e, CallFinished)]
    assert [e.outcome for e in finished] == ["ok"]
    assert isinstance(events[-1], TurnDone)
    assert len(counted.statements) <= STATEMENT_BUDGET, "\n".join(counted.statements)
    assert counted.commits <= COMMIT_BUDGET
    assert counted.checkouts <= CHECKOUT_BUDGET


async def test_a_turn_reads_only_the_messages_written_since_the_last_one(
    counted: Counted,
) -> None:
    await turn(counted)
    await turn(counted)
    history_reads = [
        s for s in counted.statements if s.startswith("SELECT") and "FROM messages" in s
    ]
    assert len(history_reads) == 1
    assert "messages.seq >" in history_reads[0]


async def test_a_history_written_by_another_process_is_seen_whole(
    counted: Counted, tmp_path: Path
) -> None:
    await turn(counted)
    # Another server process on the same store runs a turn of this conversation.
    other = await Host.start(counted.host.settings, migrate=False)
    try:
        async for _ in other.chats.send(counted.user, counted.conversation_id, MESSAGE):
            pass
    finally:
        await other.aclose()
    await turn(counted)
    view = await counted.host.chats.get(counted.user, counted.conversation_id)
    assert [m.role for m in view.messages] == ["user", "assistant", "tool", "assistant"] * 3
    async with counted.host.sessions() as session:
        stored = (
            await session.scalars(
                select(Message.content)
                .where(Message.conversation_id == counted.conversation_id)
                .order_by(Message.seq)
            )
        ).all()
    assert [m.content for m in view.messages] == list(stored)


async def test_every_turn_records_its_call_once_and_its_messages_in_order(
    counted: Counted,
) -> None:
    for _ in range(3):
        await turn(counted)
    async with counted.host.sessions() as session:
        calls = (await session.scalars(select(Call))).all()
        seqs = (
            await session.scalars(
                select(Message.seq)
                .where(Message.conversation_id == counted.conversation_id)
                .order_by(Message.seq)
            )
        ).all()
        roles = (
            await session.scalars(
                select(Message.role)
                .where(Message.conversation_id == counted.conversation_id)
                .order_by(Message.seq)
            )
        ).all()
    assert len(calls) == 3
    assert len({call.id for call in calls}) == 3
    assert list(seqs) == list(range(1, 13))
    assert list(roles) == ["user", "assistant", "tool", "assistant"] * 3


async def test_a_plugin_s_result_is_stored_with_its_plugin_and_read_back_with_it(
    counted: Counted,
) -> None:
    await turn(counted)
    async with counted.host.sessions() as session:
        labels = (
            await session.execute(
                select(Message.role, Message.source_plugin)
                .where(Message.conversation_id == counted.conversation_id)
                .order_by(Message.seq)
            )
        ).all()
    assert [tuple(row) for row in labels] == [
        ("user", None),
        ("assistant", None),
        ("tool", "sports"),
        ("assistant", None),
    ]
    # Another process reads the history from the store, with the label.
    other = await Host.start(counted.host.settings, migrate=False)
    try:
        view = await other.chats.get(counted.user, counted.conversation_id)
    finally:
        await other.aclose()
    assert [m.source_plugin for m in view.messages if m.role == "tool"] == ["sports"]
