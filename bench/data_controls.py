"""How fast the retention job deletes, and how big and slow an export is, on a real store.

    .venv/bin/python bench/data_controls.py [--conversations 2000] [--messages 10]
        [--batch 200] [--database-url URL]

Fills a fresh store (SQLite in a temporary folder unless `--database-url` names another) with
one user's history-off conversations of `--messages` messages each, times one export of them
all, then moves the clock past the retention period and times the purge. Prints figures only:
no threshold is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from powerstrip.host import Host
from powerstrip.settings import Settings
from powerstrip.store import Conversation, Message, transaction, utcnow


async def main(conversations: int, messages: int, batch: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder),
            database_url=database_url or "",
            retention_batch_size=batch,
        )
        ahead = timedelta()
        host = await Host.start(settings, clock=lambda: utcnow() + ahead)
        try:
            user = await host.users.ensure("bench")
            await host.data.update(user, history_enabled=False)
            text = "A message of ordinary length about groceries and plans. " * 4
            started = time.perf_counter()
            for first in range(0, conversations, 200):
                async with transaction(host.sessions) as session:
                    for n in range(first, min(first + 200, conversations)):
                        row = Conversation(user_id=user.id, title=f"c{n}", history_enabled=False)
                        session.add(row)
                        await session.flush()
                        session.add_all(
                            Message(conversation_id=row.id, seq=s, role="user", content=text)
                            for s in range(1, messages + 1)
                        )
            filled = time.perf_counter() - started
            started = time.perf_counter()
            archive = await host.exports.archive(user)
            exported = time.perf_counter() - started
            ahead = timedelta(days=settings.retention_days + 1)
            started = time.perf_counter()
            report = await host.retention.purge()
            purged = time.perf_counter() - started
        finally:
            await host.aclose()
    rows = conversations * messages
    print(
        f"store: {settings.database_url.split(':', 1)[0]}, {conversations} conversations x "
        f"{messages} messages ({rows} messages), filled in {filled:.1f} s"
    )
    print(
        f"export: {len(archive) / 1e6:.2f} MB zip in {exported:.2f} s "
        f"({rows / exported:,.0f} messages/s)"
    )
    print(
        f"purge: {report.counts['conversations']} conversations, {report.counts['messages']} "
        f"messages in {report.batches} batches of {batch}, {purged:.2f} s "
        f"({report.counts['messages'] / purged:,.0f} messages/s)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    arguments = parser.parse_args()
    asyncio.run(
        main(arguments.conversations, arguments.messages, arguments.batch, arguments.database_url)
    )
