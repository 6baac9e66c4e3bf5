"""What the store holds of a conversation, read straight from the database after a fault."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from powerstrip.host.recorder import message_from_row
from powerstrip.runtime import ChatMessage
from powerstrip.runtime.conversation import unanswered_calls
from powerstrip.store import Call, Message, create_engine, session_factory

__all__ = ["ConversationState", "conversation_state", "sqlite_url"]


@dataclass(frozen=True)
class ConversationState:
    messages: list[ChatMessage]
    seqs: list[int]
    open_calls: list[str]
    call_ids: list[str]


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'powerstrip.db'}"


def conversation_state(where: Path | str, conversation_id: str) -> ConversationState:
    """The messages (in order), their seqs, the calls still unanswered and the call rows."""
    url = sqlite_url(where) if isinstance(where, Path) else where
    return asyncio.run(_read(url, conversation_id))


async def _read(url: str, conversation_id: str) -> ConversationState:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            rows = (
                (
                    await session.execute(
                        select(Message)
                        .where(Message.conversation_id == conversation_id)
                        .order_by(Message.seq)
                    )
                )
                .scalars()
                .all()
            )
            calls = (
                await session.execute(
                    select(Call.id).where(Call.conversation_id == conversation_id)
                )
            ).scalars()
            messages = [message_from_row(row) for row in rows]
            return ConversationState(
                messages=messages,
                seqs=[row.seq for row in rows],
                open_calls=[call.id for call in unanswered_calls(messages)],
                call_ids=list(calls),
            )
    finally:
        await engine.dispose()
