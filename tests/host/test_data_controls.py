"""The data controls on a real store, with a clock the test moves on (spec §9).

A conversation started with chat history off is unlisted at once and deleted with everything
hanging off it once the retention period has passed; one started with history on stays. The
retention job is idempotent, and two jobs at once delete each row exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from powerstrip.errors import InvalidInputError, NotFoundError
from powerstrip.host import Host, Retention, UserInfo
from powerstrip.settings import Settings
from powerstrip.store import (
    Approval,
    Call,
    Feedback,
    Message,
    Plugin,
    create_engine,
    session_factory,
    transaction,
    utcnow,
)
from powerstrip.store import Conversation as ConversationRow
from tests.databases import backends, postgres_schema
from tests.server.conftest import vault_key

pytestmark = pytest.mark.anyio


class MovableClock:
    """Now, plus however far the test moved it."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.ahead

    def advance(self, **delta: float) -> None:
        self.ahead += timedelta(**delta)


@pytest.fixture(params=backends())
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'powerstrip.db'}"
        return
    async with postgres_schema() as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def host(tmp_path: Path, database_url: str, clock: MovableClock) -> AsyncIterator[Host]:
    settings = Settings(data_dir=tmp_path, database_url=database_url, vault_keys=vault_key())
    started = await Host.start(settings, clock=clock)
    try:
        yield started
    finally:
        await started.aclose()


async def _plugin(host: Host) -> int:
    async with transaction(host.sessions) as session:
        row = Plugin(
            name_for_model="notes",
            manifest_url=f"https://notes-{id(host)}.example.com/.well-known/ai-plugin.json",
            root_domain="example.com",
            manifest={},
            spec_url="https://notes.example.com/openapi.yaml",
            api_base_url="https://notes.example.com",
            auth_type="none",
        )
        session.add(row)
        await session.flush()
        return row.id


async def _with_turn(host: Host, user: UserInfo, plugin_id: int, text: str) -> str:
    """A conversation with a question, a call (approved), the plugin's answer and a reply."""
    chat = await host.chats.create(user)
    async with transaction(host.sessions) as session:
        session.add(Message(conversation_id=chat.id, seq=1, role="user", content=text))
        session.add(
            Message(
                conversation_id=chat.id,
                seq=2,
                role="assistant",
                tool_calls=[{"id": "c1", "name": "notes__add", "arguments": "{}"}],
            )
        )
        session.add(
            Message(conversation_id=chat.id, seq=3, role="tool", content="ok", tool_call_id="c1")
        )
        session.add(Message(conversation_id=chat.id, seq=4, role="assistant", content="Done."))
        call = Call(
            conversation_id=chat.id,
            user_id=user.id,
            plugin_id=plugin_id,
            function_name="notes__add",
            operation_id="add",
            method="POST",
            url="https://notes.example.com/add",
            request={},
            outcome="ok",
        )
        session.add(call)
        await session.flush()
        session.add(
            Approval(
                conversation_id=chat.id,
                call_id=call.id,
                tool_call_id="c1",
                function_name="notes__add",
                arguments={},
                status="approved",
            )
        )
    await host.feedback.give(user, chat.id, 4, "down", "too short")
    return chat.id


async def _count(host: Host, model: type, conversation_id: str) -> int:
    async with host.sessions() as session:
        column = model.id if model is ConversationRow else model.conversation_id  # type: ignore[attr-defined]
        return int(await session.scalar(select(func.count()).where(column == conversation_id)) or 0)


async def test_a_history_off_conversation_is_hidden_at_once_and_gone_after_the_period(
    host: Host, clock: MovableClock
) -> None:
    ada = await host.users.ensure("ada")
    bob = await host.users.ensure("bob")
    plugin_id = await _plugin(host)
    kept = await _with_turn(host, ada, plugin_id, "history on")
    assert (await host.data.settings(ada)).history_enabled is True  # the default
    settings = await host.data.update(ada, history_enabled=False)
    assert (settings.history_enabled, settings.retention_days) == (False, 30)
    hidden = await _with_turn(host, ada, plugin_id, "history off")
    # Flipping the switch back changes nothing for a conversation already started.
    await host.data.update(ada, history_enabled=True)

    assert [chat.id for chat in await host.chats.list_chats(ada)] == [kept]
    view = await host.chats.get(ada, hidden)  # its owner still reaches it by id
    assert view.summary.history_enabled is False
    assert next(m.content for m in view.messages) == "history off"
    with pytest.raises(NotFoundError):
        await host.chats.get(bob, hidden)

    clock.advance(days=29, hours=23)
    assert (await host.retention.purge()).counts["conversations"] == 0
    assert (await host.chats.get(ada, hidden)).summary.id == hidden

    clock.advance(hours=2)
    report = await host.retention.purge()
    assert {name: report.counts[name] for name in ("conversations", "messages", "calls")} == {
        "conversations": 1,
        "messages": 4,
        "calls": 1,
    }
    assert (report.counts["approvals"], report.counts["feedback"]) == (1, 1)
    with pytest.raises(NotFoundError):
        await host.chats.get(ada, hidden)
    for model in (ConversationRow, Message, Call, Approval, Feedback):
        assert await _count(host, model, hidden) == 0, model.__tablename__
        assert await _count(host, model, kept) >= 1, model.__tablename__
    assert [chat.id for chat in await host.chats.list_chats(ada)] == [kept]

    again = await host.retention.purge()  # idempotent: nothing more to do
    assert sum(again.counts.values()) == 0


async def test_two_purge_jobs_at_once_delete_each_row_once(
    host: Host, clock: MovableClock, database_url: str
) -> None:
    ada = await host.users.ensure("ada")
    await host.data.update(ada, history_enabled=False)
    total = 60
    async with transaction(host.sessions) as session:
        for n in range(total):
            row = ConversationRow(user_id=ada.id, title=f"c{n}", history_enabled=False)
            session.add(row)
            await session.flush()
            session.add(Message(conversation_id=row.id, seq=1, role="user", content=f"m{n}"))
            session.add(Message(conversation_id=row.id, seq=2, role="assistant", content="a"))
    clock.advance(days=31)
    # Two jobs as two processes would run them: each on its own engine (connection pool).
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        jobs = [
            Retention(session_factory(engine), retention_days=30, batch_size=4, clock=clock)
            for engine in engines
        ]
        reports = await asyncio.gather(*(job.purge() for job in jobs))
    finally:
        for engine in engines:
            await engine.dispose()
    if database_url.startswith("postgresql"):
        # They really ran side by side: each took batches the other skipped (SKIP LOCKED).
        assert all(r.counts["conversations"] > 0 for r in reports)
    assert sum(r.counts["conversations"] for r in reports) == total
    assert sum(r.counts["messages"] for r in reports) == 2 * total
    # No batch found its rows taken by the other job: every batch deleted four.
    assert sum(r.batches for r in reports) == total // 4
    async with host.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ConversationRow)) == 0


async def test_deleting_needs_the_user_name_and_removes_only_that_user_s_data(host: Host) -> None:
    ada = await host.users.ensure("ada")
    bob = await host.users.ensure("bob")
    plugin_id = await _plugin(host)
    await _with_turn(host, ada, plugin_id, "ada's")
    await host.data.update(ada, history_enabled=False)
    await _with_turn(host, ada, plugin_id, "ada's unlisted")
    theirs = await _with_turn(host, bob, plugin_id, "bob's")
    for wrong in ("", "bob", "ADA", " ada"):
        with pytest.raises(InvalidInputError, match="nothing was deleted"):
            await host.data.delete_conversations(ada, confirm=wrong)
        with pytest.raises(InvalidInputError, match="nothing was deleted"):
            await host.data.delete_account(ada, confirm=wrong)
    report = await host.data.delete_conversations(ada, confirm="ada")
    assert (report.counts["conversations"], report.counts["messages"]) == (2, 8)
    assert await host.chats.list_chats(ada) == []
    assert (await host.data.settings(ada)).history_enabled is False  # the account stays
    assert [chat.id for chat in await host.chats.list_chats(bob)] == [theirs]


async def test_an_e_mail_is_checked_and_can_be_cleared(host: Host) -> None:
    ada = await host.users.ensure("ada")
    for bad in ("ada", "ada@", "a b@example.com", "ada@example.com, eve@example.com"):
        with pytest.raises(InvalidInputError, match="not an e-mail address"):
            await host.data.update(ada, email=bad)
    assert (await host.data.update(ada, email=" ada@example.com ")).email == "ada@example.com"
    assert (await host.data.update(ada, clear_email=True)).email is None
