"""Feedback on answers: a thumbs up or down on one assistant message, and what was wrong.

Kept per conversation and message (`seq`, the message's place in the conversation), one per
message (giving it again replaces it); it goes when its conversation goes, and it is part of
the user's export (spec §9).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import InvalidInputError, NotFoundError
from powerstrip.host.users import UserInfo
from powerstrip.store import FEEDBACK_RATINGS, Message, transaction, utcnow
from powerstrip.store import Conversation as ConversationRow
from powerstrip.store import Feedback as FeedbackRow

__all__ = ["FeedbackInfo", "Feedbacks"]

logger = logging.getLogger(__name__)

_COMMENT_LIMIT = 4000


@dataclass(frozen=True, slots=True)
class FeedbackInfo:
    conversation_id: str
    message_seq: int
    rating: str
    comment: str
    created_at: datetime
    updated_at: datetime


def _info(row: FeedbackRow) -> FeedbackInfo:
    return FeedbackInfo(
        row.conversation_id,
        row.message_seq,
        row.rating,
        row.comment,
        row.created_at,
        row.updated_at,
    )


class Feedbacks:
    """Users' feedback on answers; one per process."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def give(
        self, user: UserInfo, conversation_id: str, message_seq: int, rating: str, comment: str = ""
    ) -> FeedbackInfo:
        """Rate an answer (`up` or `down`), replacing an earlier rating of it."""
        if rating not in FEEDBACK_RATINGS:
            raise InvalidInputError(
                f"a rating is up or down, not {rating!r}", where="rating", fix="send up or down"
            )
        async with transaction(self.sessions) as session:
            await _owned(session, user, conversation_id)
            role = await session.scalar(
                select(Message.role).where(
                    Message.conversation_id == conversation_id, Message.seq == message_seq
                )
            )
            if role != "assistant":
                raise NotFoundError(
                    f"no answer {message_seq} in conversation {conversation_id}",
                    where="feedback",
                    fix="rate an assistant message: its seq is its place in the conversation",
                )
            row = await session.scalar(
                select(FeedbackRow).where(
                    FeedbackRow.conversation_id == conversation_id,
                    FeedbackRow.message_seq == message_seq,
                )
            )
            if row is None:
                row = FeedbackRow(
                    user_id=user.id, conversation_id=conversation_id, message_seq=message_seq
                )
                session.add(row)
            row.rating = rating
            row.comment = comment[:_COMMENT_LIMIT]
            row.updated_at = utcnow()
            await session.flush()
            info = _info(row)
        logger.info("feedback.given user=%s rating=%s", user.id, rating)
        return info

    async def withdraw(self, user: UserInfo, conversation_id: str, message_seq: int) -> None:
        async with transaction(self.sessions) as session:
            await _owned(session, user, conversation_id)
            await session.execute(
                delete(FeedbackRow).where(
                    FeedbackRow.conversation_id == conversation_id,
                    FeedbackRow.message_seq == message_seq,
                )
            )

    async def list_feedback(self, user: UserInfo, conversation_id: str) -> list[FeedbackInfo]:
        async with self.sessions() as session:
            await _owned(session, user, conversation_id)
            rows = (
                await session.execute(
                    select(FeedbackRow)
                    .where(FeedbackRow.conversation_id == conversation_id)
                    .order_by(FeedbackRow.message_seq)
                )
            ).scalars()
            return [_info(row) for row in rows]


async def _owned(session: AsyncSession, user: UserInfo, conversation_id: str) -> None:
    row = await session.get(ConversationRow, conversation_id)
    if row is None or row.user_id != user.id or row.deleted_at is not None:
        raise NotFoundError(
            f"no conversation {conversation_id}",
            where="conversations",
            fix="list your conversations to see their ids",
        )
