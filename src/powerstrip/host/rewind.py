"""Rewinding a conversation's history to before one of the user's messages (edit, regenerate).

A person who edits a message, or asks for another answer, takes the conversation back to just
before that message and sends again. `rewind_history` removes that message and everything after
it, in one transaction:

- the **messages** are deleted, not marked superseded: the history is what the model reads and
  what every device shows, and every reader of it (the turn, the page, the export, the
  retention job) would otherwise need to skip the superseded rows, forever;
- the **call log is kept whole**: a plugin call the removed turns made was made all the same
  (it may have changed something at the plugin), so it stays recorded with the conversation,
  in its call list and its export; call rows name no message, so nothing in them dangles;
- **ratings** of the removed answers are deleted: they rated text that is gone, and their seq
  is about to be the next answer's;
- **approvals** still pending for calls in the removed messages are deleted (the question is
  withdrawn and the call was never made); decided ones stay, beside their calls.

Removal starts at a user message only: the history then ends after a whole turn, where a new
message can follow (never between a call and its answer).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from powerstrip.errors import InvalidInputError, NotFoundError
from powerstrip.store import Approval, Conversation, Feedback, Message, utcnow

__all__ = ["Rewound", "last_user_seq", "rewind_history"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rewound:
    """What a rewind removed: from the user's message `seq` (its text) on, `removed` messages."""

    seq: int
    content: str
    removed: int


async def last_user_seq(session: AsyncSession, conversation_id: str) -> int:
    """The seq of the user's latest message in the conversation (NotFoundError if none)."""
    seq = await session.scalar(
        select(Message.seq)
        .where(Message.conversation_id == conversation_id, Message.role == "user")
        .order_by(Message.seq.desc())
        .limit(1)
    )
    if seq is None:
        raise NotFoundError(
            f"conversation {conversation_id} has no message of yours yet",
            where="rewind",
            fix="send a message first",
        )
    return seq


async def rewind_history(session: AsyncSession, conversation_id: str, seq: int) -> Rewound:
    """Remove the user's message `seq` and everything after it (see the module docstring).

    Run in the caller's transaction, after its ownership check. Refused, changing nothing,
    when `seq` is not one of the user's messages.
    """
    rows = (
        await session.execute(
            select(Message.seq, Message.role, Message.content, Message.tool_calls)
            .where(Message.conversation_id == conversation_id, Message.seq >= seq)
            .order_by(Message.seq)
        )
    ).all()
    if seq < 1 or not rows or rows[0].seq != seq:
        raise NotFoundError(
            f"no message {seq} in conversation {conversation_id}",
            where="rewind",
            fix="give the seq of one of your messages: its place in the conversation, from 1",
        )
    if rows[0].role != "user":
        raise InvalidInputError(
            f"message {seq} is not one of yours (it is a {rows[0].role} message)",
            where="seq",
            fix="rewind to one of your own messages: edit it, or regenerate the answer to it",
        )
    call_ids = [
        str(call["id"])
        for row in rows
        for call in row.tool_calls or ()
        if isinstance(call, dict) and "id" in call
    ]
    if call_ids:
        await session.execute(
            delete(Approval).where(
                Approval.conversation_id == conversation_id,
                Approval.tool_call_id.in_(call_ids),
                Approval.status == "pending",
            )
        )
    await session.execute(
        delete(Feedback).where(
            Feedback.conversation_id == conversation_id, Feedback.message_seq >= seq
        )
    )
    await session.execute(
        delete(Message).where(Message.conversation_id == conversation_id, Message.seq >= seq)
    )
    await session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(updated_at=utcnow())
    )
    logger.info("chats.rewind conversation=%s seq=%s removed=%s", conversation_id, seq, len(rows))
    return Rewound(seq, rows[0].content or "", len(rows))
