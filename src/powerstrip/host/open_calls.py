"""Closing what a turn left open, so a conversation never waits for an answer no one will give.

A turn that stops early (the client went away, the store refused a write, the model failed, a
bug, its worker died) can leave the last assistant message with tool calls that have no answer.
The loop reads such a history as a paused turn, so until something answers them every later
message is refused with "a call is waiting for your approval". `close_open_calls` answers them
with a tool message that says what happened, and declines the approvals it closes, in one
transaction.

A turn can also stop while the model was answering: the history then ends on the user's message
(or on a call's answer, the model not having answered it yet) and nothing says the turn ended.
In the same transaction, once no call is left open, `close_open_calls` ends such a turn with an
assistant message saying it was interrupted (or failed) before the model answered: what the
client reads, and what the model reads at the next turn. So a finished turn always ends on an
assistant message, and a history that does not shows a turn still running or one whose worker
died (what the recovery sweep looks for, `host/turn_recovery.py`).

What may be closed depends on why:
- `interrupted`: the client left, or the server shut down (`Drain`); calls put to the user
  stay open (they can still answer them), the others are answered as interrupted.
- `failed`: the turn broke; everything it left open is closed, unless the conversation was
  already paused for the user before this turn began (`since`): that question still stands.
  `since=None` closes only a conversation no one can answer (no approval is pending at all),
  as a turn does before it starts.
- `lost`: the worker running the turn died (the recovery sweep, `host/turn_recovery.py`, or an
  approval naming such a call): the open calls are closed only when none of them waits for
  the user. One that waits means the turn paused before making any call of its message, so
  nothing was lost; otherwise each open call may have been sent, and is answered as such.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.host.recorder import message_from_row, message_to_row
from powerstrip.runtime import ChatMessage
from powerstrip.runtime.conversation import unanswered_calls
from powerstrip.store import Approval, Conversation, Message, transaction, utcnow

__all__ = ["TURN_ENDED", "awaits_model", "close_open_calls"]

logger = logging.getLogger(__name__)

_INTERRUPTED = (
    "The call was interrupted before its result arrived (the user's connection closed, or the "
    "server stopped); it may or may not have been made. Check before repeating it."
)
_FAILED = (
    "The turn failed before this call's result was recorded; it may or may not have been made. "
    "Check before repeating it."
)
_FAILED_UNDECIDED = "The turn failed before the user decided on this call; it was not made."
_LOST = (
    "The server running this turn stopped before the call's result arrived; it may or may not "
    "have been made. Check before repeating it."
)
# The assistant's last word of a turn that ended before the model answered, by reason.
TURN_ENDED = {
    "interrupted": (
        "This turn was interrupted before the model answered (the user's connection closed, or "
        "the server stopped). Send the message again to continue."
    ),
    "failed": "This turn failed before the model answered. Send the message again to retry.",
    "lost": (
        "This turn was interrupted: the server running it stopped before the model answered. "
        "Send the message again to continue."
    ),
}


async def close_open_calls(
    sessions: async_sessionmaker[AsyncSession],
    conversation_id: str,
    *,
    reason: Literal["interrupted", "failed", "lost"],
    since: datetime | None = None,
    stale_before: datetime | None = None,
) -> int:
    """Answer the calls of `conversation_id` no one will answer now, and end its turn if the
    model owes an answer; how many messages were written.

    `stale_before`: a turn the model owes an answer is ended only if its last message is older
    (the sweep's guard: an API turn writes its request's messages before taking the turn lock).
    One transaction: it reads the history and the pending approvals, and writes the answers,
    so it cannot race with another write of the same conversation.
    """
    async with transaction(sessions) as session:
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
        history = [message_from_row(row) for row in rows]
        open_calls = unanswered_calls(history)
        if not open_calls:
            if not awaits_model(history):
                return 0
            if stale_before is not None and rows[-1].created_at >= stale_before:
                return 0  # maybe a turn about to take its lock: not yet known to be dead
            await _end_turn(session, conversation_id, rows[-1].seq + 1, reason)
            return 1
        pending = await session.execute(
            select(Approval.tool_call_id, Approval.created_at).where(
                Approval.conversation_id == conversation_id,
                Approval.tool_call_id.in_([call.id for call in open_calls]),
                Approval.status == "pending",
            )
        )
        asked = {tool_call_id: asked_at for tool_call_id, asked_at in pending.all()}
        if reason == "interrupted":
            closing = [call for call in open_calls if call.id not in asked]
        elif reason == "lost":
            if asked:
                return 0  # paused for the user: nothing of this message was sent
            closing = open_calls
        elif any(since is None or asked_at < since for asked_at in asked.values()):
            return 0  # paused for the user before this turn: their answer is still wanted
        else:
            closing = open_calls
        last = await session.scalar(
            select(func.max(Message.seq)).where(Message.conversation_id == conversation_id)
        )
        seq = last or 0
        for call in closing:
            if reason == "interrupted":
                text = _INTERRUPTED
            elif reason == "lost":
                text = _LOST
            else:
                text = _FAILED_UNDECIDED if call.id in asked else _FAILED
            seq += 1
            session.add(
                message_to_row(
                    conversation_id, seq, ChatMessage("tool", text, tool_call_id=call.id)
                )
            )
            logger.info(
                "chats.call_closed conversation=%s call=%s reason=%s",
                conversation_id,
                call.id,
                reason,
            )
        declined = [call.id for call in closing if call.id in asked]
        if declined:
            await session.execute(
                update(Approval)
                .where(
                    Approval.conversation_id == conversation_id,
                    Approval.tool_call_id.in_(declined),
                    Approval.status == "pending",
                )
                .values(status="declined", decided_at=utcnow())
            )
        if len(closing) < len(open_calls):
            # Calls put to the user stay open: the turn is paused, not ended.
            if closing:
                await _touch(session, conversation_id)
            return len(closing)
        # Every call answered and the model's answer to them never came: the turn ends here.
        await _end_turn(session, conversation_id, seq + 1, reason)
        return len(closing) + 1


def awaits_model(history: list[ChatMessage]) -> bool:
    """Whether the model owes the next message: the history ends on the user's message, or on
    the answers of every call of the model's last message."""
    if not history:
        return False
    last = history[-1]
    return last.role == "user" or (last.role == "tool" and not unanswered_calls(history))


async def _end_turn(
    session: AsyncSession,
    conversation_id: str,
    seq: int,
    reason: Literal["interrupted", "failed", "lost"],
) -> None:
    session.add(message_to_row(conversation_id, seq, ChatMessage("assistant", TURN_ENDED[reason])))
    logger.info("chats.turn_closed conversation=%s reason=%s", conversation_id, reason)
    await _touch(session, conversation_id)


async def _touch(session: AsyncSession, conversation_id: str) -> None:
    await session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(updated_at=utcnow())
    )
