"""What the recovery sweep costs on a store with many conversations: its time, CPU and SQL.

Fills a SQLite store (in a temporary directory) with `--conversations` conversations of
`--messages` messages each, most of them answered, a few paused for approval and `--lost` left
as a killed worker leaves a turn (a call without an answer), then runs the sweep once to close
the lost ones and once more with nothing left to close: the cost every periodic sweep pays.

    .venv/bin/python bench/turn_recovery.py [--conversations 5000] [--messages 10] [--lost 20]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert

from powerstrip.host import Host
from powerstrip.host.recorder import message_values
from powerstrip.runtime import ChatMessage, ToolCall
from powerstrip.settings import Settings
from powerstrip.store import Approval, Message, transaction
from powerstrip.store import Conversation as ConversationRow


def _history(number: int, messages: int, kind: str) -> list[ChatMessage]:
    call = ToolCall(f"call_{number}", "todo__add_todo", "{}")
    done = [ChatMessage("user", "hello"), ChatMessage("assistant", "hi")] * (messages // 2)
    if kind == "answered":
        return done
    return [*done[:-2], ChatMessage("user", "add milk"), ChatMessage("assistant", None, (call,))]


async def _fill(host: Host, conversations: int, messages: int, lost: int) -> None:
    user = await host.users.ensure("ada")
    async with transaction(host.sessions) as session:
        for number in range(conversations):
            kind = "lost" if number < lost else "paused" if number < 2 * lost else "answered"
            row = ConversationRow(user_id=user.id, title=f"chat {number}")
            session.add(row)
            await session.flush()
            rows = [
                {"conversation_id": row.id, "seq": seq, **message_values(message)}
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


async def _sweep(host: Host) -> tuple[int, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    closed = await host.turn_recovery.sweep()
    return closed, time.perf_counter() - wall, time.process_time() - cpu


async def main(conversations: int, messages: int, lost: int) -> None:
    with tempfile.TemporaryDirectory() as where:
        host = await Host.start(Settings(data_dir=Path(where)))
        try:
            await _fill(host, conversations, messages, lost)
            statements: list[int] = []

            def count(*_: Any) -> None:
                statements.append(1)

            event.listen(host.engine.sync_engine, "before_cursor_execute", count)
            for label in ("first sweep", "next sweep"):
                start = len(statements)
                closed, wall, cpu = await _sweep(host)
                print(
                    f"{label}: closed {closed} calls in {wall * 1000:.1f} ms "
                    f"({cpu * 1000:.1f} ms CPU), {len(statements) - start} statements"
                )
        finally:
            await host.aclose()
    print(f"store: {conversations} conversations x {messages} messages, {lost} lost turns")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--lost", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.conversations, args.messages, args.lost))
