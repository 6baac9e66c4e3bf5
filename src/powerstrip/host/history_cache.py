"""Conversation histories kept between turns, so a turn reads only the messages it lacks.

Every turn needs the whole history, and a long conversation's history (tool results included)
is most of what a turn reads from the store. Messages are numbered 1, 2, 3... by `seq` and
appended; the only other change is a rewind (host/rewind.py), which deletes the tail from one
of the user's messages on, after which new messages take those numbers again. So the next load
reads the rows from the last seq this process holds on, whichever process wrote them, and
checks that the row at that seq is still the one it holds (same id, same time written): when
it is not, or a number is missing, another process rewound the conversation and the whole
history is read again. The process that rewinds forgets its copy at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from powerstrip.host.recorder import MESSAGE_COLUMNS, message_from_columns
from powerstrip.runtime import ChatMessage
from powerstrip.store import Message

__all__ = ["HistoryCache"]

# Conversations whose history one process keeps; the least recently used go first.
_LIMIT = 64


# Built once: a turn reads its history with it, and building a statement costs more than
# running it.
_FROM = (
    select(Message.seq, Message.id, Message.created_at, *MESSAGE_COLUMNS)
    .where(Message.conversation_id == bindparam("conversation_id"), Message.seq >= bindparam("seq"))
    .order_by(Message.seq)
)


@dataclass(frozen=True, slots=True)
class _Held:
    messages: tuple[ChatMessage, ...]
    times: tuple[datetime, ...]  # when each message was written
    last_id: int  # the row id of the last message: a rewound-and-rewritten seq has another


_NOTHING = _Held((), (), 0)


class HistoryCache:
    """The histories of the most recently used conversations, topped up from the store."""

    def __init__(self, limit: int = _LIMIT) -> None:
        self._limit = limit
        self._held: OrderedDict[str, _Held] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, connection: Connection, conversation_id: str) -> list[ChatMessage]:
        """The conversation's whole history: the cached part and what the store adds to it.

        Synchronous: a turn reads it in its read job (`store.read_job`), on SQLite's thread."""
        return list(self._load(connection, conversation_id).messages)

    async def load_timed(
        self, session: AsyncSession, conversation_id: str
    ) -> tuple[list[ChatMessage], tuple[datetime, ...]]:
        """The whole history, and when each of its messages was written."""
        held = await session.run_sync(self._load, conversation_id)
        return list(held.messages), held.times

    def _load(self, connection: Connection | Session, conversation_id: str) -> _Held:
        with self._lock:
            held = self._held.get(conversation_id, _NOTHING)
        last = len(held.messages)
        # From the last held seq on: that row proves the held copy is still the history.
        rows = connection.execute(
            _FROM, {"conversation_id": conversation_id, "seq": max(last, 1)}
        ).all()
        if last:
            first = rows[0] if rows else None
            if (
                first is None
                or (first.seq, first.id) != (last, held.last_id)
                or first.created_at != held.times[-1]
            ):
                return self._reload(connection, conversation_id)
            rows = rows[1:]
            if [row.seq for row in rows] != list(range(last + 1, last + len(rows) + 1)):
                return self._reload(connection, conversation_id)
        if rows:
            held = _Held(
                (*held.messages, *(message_from_columns(*row[3:]) for row in rows)),
                (*held.times, *(row.created_at for row in rows)),
                rows[-1].id,
            )
        with self._lock:
            self._held[conversation_id] = held
            self._held.move_to_end(conversation_id)
            while len(self._held) > self._limit:
                self._held.popitem(last=False)
        return held

    def _reload(self, connection: Connection | Session, conversation_id: str) -> _Held:
        self.forget(conversation_id)
        return self._load(connection, conversation_id)

    def forget(self, conversation_id: str) -> None:
        """Drop a conversation's cached history (deleted, rewound, or found inconsistent)."""
        with self._lock:
            self._held.pop(conversation_id, None)
