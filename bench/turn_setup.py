"""The in-process turn the turn benchmarks share: its setup, the turn itself, its statements.

bench/turn_statements.py and bench/turn_floor.py both run the host in their own process against
the sports example (its own process, as in bench/turns.py), and both need the same user,
installed and verified plugin, grant and conversation, the same turn ("show the teams of the
2024 season", one call, checked), and a count of what the turn sends to the database.
"""

from __future__ import annotations

import collections
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from turns import MESSAGE, OPERATION

from powerstrip.host import Host, UserInfo, ensure_user
from powerstrip.host.grants import add_grant
from powerstrip.runtime import CallFinished, ErrorEvent
from powerstrip.store.sqlite_thread import ThreadedConnection

__all__ = ["BenchTurn", "StatementCounter", "bench_turn"]


@dataclass(frozen=True)
class BenchTurn:
    """A conversation ready for the benchmark's turns, and one turn of it."""

    user: UserInfo
    plugin_id: int
    conversation_id: str
    turn: Callable[[], Awaitable[None]]


async def bench_turn(host: Host, plugin_url: str, *, warm: int = 5) -> BenchTurn:
    """Add the plugin at `plugin_url`, a user who installed it and "always allows" the turn's
    operation, and their conversation; the turn is run `warm` times (caches, connections)."""
    plugin = await host.registry.add_plugin(plugin_url)
    await host.registry.set_verified(plugin.id, True)
    user = await ensure_user(host.sessions, "bench")
    await host.registry.install(user.id, plugin.id)
    await add_grant(host.sessions, user.id, plugin.id, OPERATION, ttl_days=0)
    chat = await host.chats.create(user, title="bench", plugin_ids=(plugin.id,))

    async def turn() -> None:
        calls = 0
        async for item in host.chats.send(user, chat.id, MESSAGE):
            if isinstance(item, ErrorEvent):
                raise SystemExit(f"the turn failed: {item.message}")
            calls += isinstance(item, CallFinished) and item.outcome == "ok"
        if calls != 1:
            raise SystemExit(f"expected one call, the turn made {calls}")

    for _ in range(warm):
        await turn()
    return BenchTurn(user, plugin.id, chat.id, turn)


class StatementCounter:
    """Counts the statements an engine sends, by their first word, its commits, and the trips
    to SQLite's thread; `capture` keeps each statement but BEGIN with its parameters."""

    def __init__(self, *, capture: bool = False) -> None:
        self.kinds: collections.Counter[str] = collections.Counter()
        self.commits = 0
        self.handoffs = 0
        self.captured: list[tuple[str, Any]] = []  # Any: the statement's parameters
        self._capture = capture
        self._detach: list[Callable[[], None]] = []

    def attach(self, host: Host) -> None:
        sync_engine = host.engine.sync_engine
        # Each trip to SQLite's thread (store/sqlite_thread.py) costs more than a small
        # statement does: count them where they are made.
        run = ThreadedConnection._run

        def counted(connection: ThreadedConnection, function: Any) -> Any:
            self.handoffs += 1
            return run(connection, function)

        ThreadedConnection._run = counted  # type: ignore[method-assign, assignment]

        def restore() -> None:
            ThreadedConnection._run = run  # type: ignore[method-assign]

        def statement(conn: Any, cursor: Any, text: str, params: Any, *_: Any) -> None:
            words = text.split(None, 1)
            kind = words[0].upper() if words else "?"
            self.kinds[kind] += 1
            if self._capture and kind != "BEGIN":
                self.captured.append((text, params))

        def commit(*_: Any) -> None:  # Any: SQLAlchemy's event signature
            self.commits += 1

        event.listen(sync_engine, "before_cursor_execute", statement)
        event.listen(sync_engine, "commit", commit)
        self._detach = [
            restore,
            lambda: event.remove(sync_engine, "before_cursor_execute", statement),
            lambda: event.remove(sync_engine, "commit", commit),
        ]

    def detach(self) -> None:
        for undo in self._detach:
            undo()
        self._detach = []

    def reset(self) -> None:
        self.kinds.clear()
        self.commits = 0
        self.handoffs = 0
        self.captured = []
