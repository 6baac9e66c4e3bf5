"""What the recovery sweep costs on a store with many conversations: its time, CPU and SQL.

Fills a SQLite store (in a temporary directory) with `--conversations` conversations of
`--messages` messages each, most of them answered, a few paused for approval and `--lost` left
as a killed worker leaves a turn (a call without an answer), then runs the sweep once to close
the lost ones and once more with nothing left to close: the cost every server's start pays. Then
the periodic sweep (the last day's conversations) with nothing left to close, the cost every
`POWERSTRIP_TURN_RECOVERY_INTERVAL_SECONDS` pays, with `--old` of the answered conversations
last written two days ago (a store in use for a while: most conversations are not today's).
`--database-url` runs it on another store (an empty PostgreSQL database, say).

    .venv/bin/python bench/turn_recovery.py [--conversations 5000] [--messages 10] [--lost 20]
        [--old 0.9] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert

from powerstrip.host import Host
from powerstrip.host.recorder import message_values
from powerstrip.runtime import ChatMessage, ToolCall
from powerstrip.settings import Settings
from powerstrip.store import Approval, Message, transaction, utcnow
from powerstrip.store import Conversation as ConversationRow


def _history(number: int, messages: int, kind: str) -> list[ChatMessage]:
    call = ToolCall(f"call_{number}", "todo__add_todo", "{}")
    done = [ChatMessage("user", "hello"), ChatMessage("assistant", "hi")] * (messages // 2)
    if kind == "answered":
        return done
    return [*done[:-2], ChatMessage("user", "add milk"), ChatMessage("assistant", None, (call,))]


async def _fill(host: Host, conversations: int, messages: int, lost: int, old: float) -> None:
    user = await host.users.ensure("ada")
    long_ago = utcnow() - timedelta(days=2)
    answered = conversations - 2 * lost
    async with transaction(host.sessions) as session:
        for number in range(conversations):
            kind = "lost" if number < lost else "paused" if number < 2 * lost else "answered"
            row = ConversationRow(user_id=user.id, title=f"chat {number}")
            session.add(row)
            await session.flush()
            dated = {"created_at": long_ago} if number - 2 * lost < old * answered else {}
            rows = [
                {"conversation_id": row.id, "seq": seq, **message_values(message)} | dated
                for seq, message in enumerate(_history(number, messages, kind), start=1)
            ]
            await session.execute(insert(Message), rows)
            if kind == "paused":
                session.add(
                    Approval(
                        conversation_id=row.id,
                        tool_call_id=f"call_{number}",
                        function_name="todo__add_todo",
                        arguments={},
                    )
                )


async def _sweep(host: Host, within: timedelta | None) -> tuple[int, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    closed = await host.turn_recovery.sweep(within=within)
    return closed, time.perf_counter() - wall, time.process_time() - cpu


async def main(conversations: int, messages: int, lost: int, old: float, database_url: str) -> None:
    with tempfile.TemporaryDirectory() as where:
        chosen = {"database_url": database_url} if database_url else {}
        host = await Host.start(Settings(data_dir=Path(where), **chosen))
        try:
            await _fill(host, conversations, messages, lost, old)
            if host.engine.dialect.name == "postgresql":
                # What autovacuum does soon after such a fill: the planner's statistics.
                async with host.engine.connect() as connection:
                    await connection.exec_driver_sql("ANALYZE")
            statements: list[int] = []

            def count(*_: Any) -> None:
                statements.append(1)

            event.listen(host.engine.sync_engine, "before_cursor_execute", count)
            runs = [
                ("first sweep", None),
                ("next sweep", None),
                ("periodic sweep", timedelta(days=1)),
            ]
            for label, within in runs:
                start = len(statements)
                closed, wall, cpu = await _sweep(host, within)
                print(
                    f"{label}: wrote {closed} messages in {wall * 1000:.1f} ms "
                    f"({cpu * 1000:.1f} ms CPU), {len(statements) - start} statements"
                )
        finally:
            await host.aclose()
    print(
        f"store: {conversations} conversations x {messages} messages, {lost} lost turns, "
        f"{old:.0%} of the answered ones two days old"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--lost", type=int, default=20)
    parser.add_argument("--old", type=float, default=0.9)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    asyncio.run(main(args.conversations, args.messages, args.lost, args.old, args.database_url))
