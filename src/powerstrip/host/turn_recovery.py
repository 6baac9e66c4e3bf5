"""`TurnRecovery`: closing the turns whose worker died, without waiting for their next message.

A worker killed mid-turn (SIGKILL, a crash, a machine lost) leaves its turn unfinished, and
nobody to finish it: either its last call has no answer (the conversation shows the call as
still running), or the model was answering (the history ends on the user's message, or on the
answers of the model's calls) and nothing says the turn ended. A turn that ends in its own
process always ends on an assistant message (`close_open_calls` writes one for a turn
interrupted or failed before the model answered), so either state means a turn still running,
or a dead one. The sweep closes a dead one as soon as it is certain it is dead:

- **Which conversations.** Those whose last message is the user's, a model's call or a call's
  answer, with no approval pending (a pending approval means the turn paused before making any
  call of its message: nothing was lost). One query (the periodic sweep: last messages of the
  last day); then each one's history is read, and only one with a call still open, or whose
  model owes an answer since longer than a turn lock's lease, goes further. The lease matters
  for the latter: an API turn writes its request's messages before it takes the lock.
- **Only the dead worker's turns.** For each, the sweep *claims* the conversation's turn lock,
  never waiting: a live turn holds it (on Redis, renewed every third of its lease), and so does a
  dead worker's lease until it runs out, so a claim that succeeds proves no turn is running.
  Holding it, the sweep closes the turn in one transaction (`close_open_calls`, reason `lost`):
  each open call is answered "it may or may not have been made", and the turn ends with an
  assistant message saying it was interrupted; that is what the client sees when it reads the
  conversation again, and what the model reads next; nothing is made again. A turn that starts
  meanwhile waits for the claim, then finds the turn closed.
- **When.** On Redis, the turn locks are shared: every job worker sweeps each
  `POWERSTRIP_TURN_RECOVERY_INTERVAL_SECONDS` (the `turns.recover` periodic job, run by one
  worker per period), and every server as it starts. In one process (no Redis) a lock says
  nothing about other processes, so only `powerstrip serve` with one worker sweeps, when it
  starts: then no turn of this store runs anywhere else (as the in-process lock assumes).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from powerstrip.coordination import TurnLocks
from powerstrip.host.open_calls import awaits_model, close_open_calls
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
        lease_seconds: float = 30.0,
    ) -> None:
        """With `jobs` and `interval_seconds` (on Redis), the sweep is a periodic job too.

        `lease_seconds`: the turn locks' lease; a turn the model owes an answer is closed only
        once its last message is older."""
        self.sessions = sessions
        self.turn_locks = turn_locks
        self.lease_seconds = lease_seconds
        if jobs is not None and interval_seconds is not None:
            jobs.register(RECOVER_JOB, self._job)
            jobs.every(RECOVER_JOB, interval_seconds)

    async def sweep(self, *, within: timedelta | None = None, alone: bool = False) -> int:
        """Close every turn no worker runs any more; how many messages closing them wrote.

        `within`: only conversations whose last message is that recent (the periodic sweep
        looks at the last day: a turn dies within seconds of its last write, and the next
        message still closes anything older). `alone`: no turn of this store runs anywhere
        now (the sole process, as it starts), so even a turn that just wrote is dead.
        """
        closed = 0
        for conversation_id in await self._candidates(within):
            # Older than a lease: a turn that had just written it may not hold its lock yet.
            stale_before = utcnow() - timedelta(seconds=0 if alone else self.lease_seconds)
            if not await self._unfinished(conversation_id, stale_before):
                continue  # finished, or too recent to tell: read only, no lock, no write
            async with self.turn_locks.claim(conversation_id) as held:
                if not held:
                    continue  # a live turn, or a dead worker's lease not run out yet
                count = await close_open_calls(
                    self.sessions, conversation_id, reason="lost", stale_before=stale_before
                )
            if count:
                closed += count
                logger.warning(
                    "chats.turn_recovered conversation=%s messages=%d", conversation_id, count
                )
        return closed

    async def _job(self, payload: JobPayload) -> None:
        await self.sweep(within=_PERIODIC_WITHIN)

    async def _unfinished(self, conversation_id: str, stale_before: datetime) -> bool:
        """Whether a call is still open, or the model owes an answer since before the cutoff."""
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(*MESSAGE_COLUMNS, Message.created_at)
                    .where(Message.conversation_id == conversation_id)
                    .order_by(Message.seq)
                )
            ).all()
        history = [message_from_columns(*row[:-1]) for row in rows]
        if unanswered_calls(history):
            return True
        return awaits_model(history) and rows[-1].created_at < stale_before

    async def _candidates(self, within: timedelta | None) -> list[str]:
        """Conversations whose last message leaves a call open (none of them put to the user),
        or waits for the model's answer."""
        waiting = exists().where(
            Approval.conversation_id == Message.conversation_id, Approval.status == "pending"
        )
        # A message without calls stores JSON null (or SQL NULL): compared as text, on every
        # backend.
        calls = func.coalesce(cast(Message.tool_calls, String), "null")
        query = (
            select(Message.conversation_id)
            .join(ConversationRow, ConversationRow.id == Message.conversation_id)
            .where(
                ConversationRow.deleted_at.is_(None),
                or_(
                    Message.role.in_(("user", "tool")),
                    and_(Message.role == "assistant", calls != "null"),
                ),
                ~waiting,
            )
        )
        if within is None:
            # Every conversation's last message: one pass over the (conversation, seq) index.
            last = (
                select(Message.conversation_id, func.max(Message.seq).label("seq"))
                .group_by(Message.conversation_id)
                .subquery()
            )
            query = query.join(
                last,
                and_(Message.conversation_id == last.c.conversation_id, Message.seq == last.c.seq),
            )
        else:
            # The recent messages only (the `created_at` index), each kept if none follows it
            # (one probe of the (conversation, seq) index): the cost follows the period's
            # traffic, not the whole history.
            later = aliased(Message)
            query = query.where(
                Message.created_at >= utcnow() - within,
                ~exists().where(
                    later.conversation_id == Message.conversation_id, later.seq > Message.seq
                ),
            )
        async with self.sessions() as session:
            return list((await session.execute(query)).scalars())
