"""`TurnRecovery`: closing the turns whose worker died, without waiting for their next message.

A worker killed mid-turn (SIGKILL, a crash, a machine lost) leaves its last call without an
answer, and nobody to give one: the conversation shows the call as still running until its next
message closes it. The sweep closes such calls as soon as it is certain their turn is dead:

- **Which conversations.** Those whose last message is a model's call or a call's answer, with
  no approval pending (a pending approval means the turn paused before making any call of its
  message: nothing was lost). One query (the periodic sweep: last messages of the last day);
  then each one's history is read, and only one with a call still open goes further.
- **Only the dead worker's turns.** For each, the sweep *claims* the conversation's turn lock,
  never waiting: a live turn holds it (on Redis, renewed every third of its lease), and so does a
  dead worker's lease until it runs out, so a claim that succeeds proves no turn is running.
  Holding it, the sweep closes the open calls in one transaction (`close_open_calls`, reason
  `lost`): each is answered "it may or may not have been made", which is what the client sees
  when it reads the conversation again, and what the model reads next; nothing is made again.
  A turn that starts meanwhile waits for the claim, then finds the calls closed.
- **When.** On Redis, the turn locks are shared: every job worker sweeps each
  `POWERSTRIP_TURN_RECOVERY_INTERVAL_SECONDS` (the `turns.recover` periodic job, run by one
  worker per period), and every server as it starts. In one process (no Redis) a lock says
  nothing about other processes, so only `powerstrip serve` with one worker sweeps, when it
  starts: then no turn of this store runs anywhere else (as the in-process lock assumes).

A turn cut while the model was still answering (the user's message is the last one) left no
call open, so there is nothing to close: the conversation's next message goes through.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import String, and_, cast, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.coordination import TurnLocks
from powerstrip.host.open_calls import close_open_calls
from powerstrip.host.recorder import MESSAGE_COLUMNS, message_from_columns
from powerstrip.jobs import JobPayload, Jobs
from powerstrip.runtime.conversation import unanswered_calls
from powerstrip.store import Approval, Message, utcnow
from powerstrip.store import Conversation as ConversationRow

__all__ = ["RECOVER_JOB", "TurnRecovery"]

logger = logging.getLogger(__name__)

RECOVER_JOB = "turns.recover"
# How far back the periodic sweep looks (the one at a server's start looks at everything).
_PERIODIC_WITHIN = timedelta(days=1)


class TurnRecovery:
    """Finds turns whose worker died and closes their open calls; one per process."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        turn_locks: TurnLocks,
        *,
        jobs: Jobs | None = None,
        interval_seconds: float | None = None,
    ) -> None:
        """With `jobs` and `interval_seconds` (on Redis), the sweep is a periodic job too."""
        self.sessions = sessions
        self.turn_locks = turn_locks
        if jobs is not None and interval_seconds is not None:
            jobs.register(RECOVER_JOB, self._job)
            jobs.every(RECOVER_JOB, interval_seconds)

    async def sweep(self, *, within: timedelta | None = None) -> int:
        """Close the open calls of every turn no worker runs any more; how many were closed.

        `within`: only conversations whose last message is that recent (the periodic sweep
        looks at the last day: a turn dies within seconds of its last write, and the next
        message still closes anything older).
        """
        closed = 0
        for conversation_id in await self._candidates(within):
            if not await self._has_open_calls(conversation_id):
                continue  # its calls were all answered: read only, no lock, no write
            async with self.turn_locks.claim(conversation_id) as held:
                if not held:
                    continue  # a live turn, or a dead worker's lease not run out yet
                count = await close_open_calls(self.sessions, conversation_id, reason="lost")
            if count:
                closed += count
                logger.warning(
                    "chats.turn_recovered conversation=%s calls=%d", conversation_id, count
                )
        return closed

    async def _job(self, payload: JobPayload) -> None:
        await self.sweep(within=_PERIODIC_WITHIN)

    async def _has_open_calls(self, conversation_id: str) -> bool:
        async with self.sessions() as session:
            rows = await session.execute(
                select(*MESSAGE_COLUMNS)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.seq)
            )
            history = [message_from_columns(*row) for row in rows]
        return bool(unanswered_calls(history))

    async def _candidates(self, within: timedelta | None) -> list[str]:
        """Conversations whose last message leaves a call open, none of them put to the user."""
        last = (
            select(Message.conversation_id, func.max(Message.seq).label("seq"))
            .group_by(Message.conversation_id)
            .subquery()
        )
        waiting = exists().where(
            Approval.conversation_id == Message.conversation_id, Approval.status == "pending"
        )
        # A message without calls stores JSON null (or SQL NULL): compared as text, on every
        # backend.
        calls = func.coalesce(cast(Message.tool_calls, String), "null")
        query = (
            select(Message.conversation_id)
            .join(
                last,
                and_(Message.conversation_id == last.c.conversation_id, Message.seq == last.c.seq),
            )
            .join(ConversationRow, ConversationRow.id == Message.conversation_id)
            .where(
                ConversationRow.deleted_at.is_(None),
                or_(Message.role == "tool", and_(Message.role == "assistant", calls != "null")),
                ~waiting,
            )
        )
        if within is not None:
            query = query.where(Message.created_at >= utcnow() - within)
        async with self.sessions() as session:
            return list((await session.execute(query)).scalars())
