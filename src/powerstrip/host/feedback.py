"""Thumbs up or down on an answer, with an optional note: what the user thought of it.

One rating per answer (a second one replaces the first). Only the conversation's owner may rate,
and only an assistant message of it: anything else is "not found", so ids do not leak.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import InvalidInputError, NotFoundError
from powerstrip.host.users import UserInfo
from powerstrip.store import Conversation, Feedback, Message, transaction, upsert

__all__ = ["FeedbackInfo", "Ratings"]

_NOTE_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class FeedbackInfo:
    message_seq: int
    rating: str
    note: str


class Ratings:
    """The feedback service; one per process."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def rate(
        self, user: UserInfo, conversation_id: str, message_seq: int, rating: str, note: str = ""
    ) -> FeedbackInfo:
        if rating not in ("up", "down"):
            raise InvalidInputError(
                f"a rating is up or down, not {rating[:20]!r}",
                where="rating",
                fix="send up or down",
            )
        async with transaction(self.sessions) as session:
            await self._answer(session, user, conversation_id, message_seq)
            await upsert(
                session,
                Feedback,
                {
                    "user_id": user.id,
                    "conversation_id": conversation_id,
                    "message_seq": message_seq,
                    "rating": rating,
                    "note": note.strip()[:_NOTE_LIMIT],
                },
                key=("conversation_id", "message_seq"),
                update=("rating", "note", "user_id"),
            )
        return FeedbackInfo(message_seq, rating, note.strip()[:_NOTE_LIMIT])

    async def for_conversation(
        self, user: UserInfo, conversation_id: str
    ) -> dict[int, FeedbackInfo]:
        async with self.sessions() as session:
            rows = (
                (
                    await session.execute(
                        select(Feedback).where(
                            Feedback.conversation_id == conversation_id,
                            Feedback.user_id == user.id,
                        )
                    )
                )
                .scalars()
                .all()
            )
        return {
            row.message_seq: FeedbackInfo(row.message_seq, row.rating, row.note) for row in rows
        }

    @staticmethod
    async def _answer(
        session: AsyncSession, user: UserInfo, conversation_id: str, message_seq: int
    ) -> None:
        conversation = await session.get(Conversation, conversation_id)
        role = (
            await session.execute(
                select(Message.role).where(
                    Message.conversation_id == conversation_id, Message.seq == message_seq
                )
            )
        ).scalar_one_or_none()
        if (
            conversation is None
            or conversation.user_id != user.id
            or conversation.deleted_at is not None
            or role != "assistant"
        ):
            raise NotFoundError(
                f"no answer {message_seq} in conversation {conversation_id}",
                where="feedback",
                fix="rate an answer of one of your conversations",
            )
