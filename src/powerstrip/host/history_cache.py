"""Conversation histories kept between turns, so a turn reads only the messages it lacks.

Every turn needs the whole history, and a long conversation's history (tool results included)
is most of what a turn reads from the store. Messages are append-only, numbered 1, 2, 3... by
`seq` (a conversation is deleted whole), so what this process read last turn is still true: the
next turn reads the rows after the last seq it holds, whichever process wrote them. A gap in
the numbers means the cached copy cannot be trusted, and the whole history is read again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from powerstrip.host.recorder import MESSAGE_COLUMNS, message_from_columns
from powerstrip.runtime import ChatMessage
from powerstrip.store import Message

__all__ = ["HistoryCache"]

# Conversations whose history one process keeps; the least recently used go first.
_LIMIT = 64


# Built once: a turn reads its history with it, and building a statement costs more than
# running it.
_AFTER = (
    select(Message.seq, *MESSAGE_COLUMNS)
    .where(Message.conversation_id == bindparam("conversation_id"), Message.seq > bindparam("seq"))
    .order_by(Message.seq)
)


class HistoryCache:
    """The histories of the most recently used conversations, topped up from the store."""

    def __init__(self, limit: int = _LIMIT) -> None:
        self._limit = limit
        self._held: OrderedDict[str, tuple[ChatMessage, ...]] = OrderedDict()
        self._lock = threading.Lock()

    async def load(self, session: AsyncSession, conversation_id: str) -> list[ChatMessage]:
        """The conversation's whole history: the cached part and what the store adds to it."""
        with self._lock:
            held = self._held.get(conversation_id, ())
        rows = (
            await session.execute(_AFTER, {"conversation_id": conversation_id, "seq": len(held)})
        ).all()
        expected = range(len(held) + 1, len(held) + len(rows) + 1)
        if held and [row[0] for row in rows] != list(expected):
            self.forget(conversation_id)
            return await self.load(session, conversation_id)
        history = (*held, *(message_from_columns(*row[1:]) for row in rows))
        with self._lock:
            self._held[conversation_id] = history
            self._held.move_to_end(conversation_id)
            while len(self._held) > self._limit:
                self._held.popitem(last=False)
        return list(history)

    def forget(self, conversation_id: str) -> None:
        """Drop a conversation's cached history (deleted, or found inconsistent)."""
        with self._lock:
            self._held.pop(conversation_id, None)
