"""The retention job (spec §9): conversations started with history off go after the period.

A conversation whose owner had chat history off when it started is kept
`POWERSTRIP_RETENTION_DAYS` from its start, then deleted with its messages, calls, approvals
and feedback. Expired data exports go too. The job deletes in batches, one transaction each,
and logs counts only.

It is the `retention.purge` background job (docs/jobs.md): every worker enqueues it once per
`POWERSTRIP_RETENTION_INTERVAL_SECONDS` period under that period's id, so one of them runs it
per period. Several processes may still run it at once (`powerstrip data purge` beside a
worker, or a retry): on PostgreSQL each batch locks the conversations it picked with
`FOR UPDATE SKIP LOCKED`, so two jobs never pick the same row and none waits for another; on
SQLite each batch holds the database's write lock (`BEGIN IMMEDIATE`), so batches follow one
another. Either way every row is deleted once, and a job that finds nothing left is done.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.host.clock import Clock, system_clock
from powerstrip.host.data_rows import COUNTED_TABLES, delete_conversation_rows
from powerstrip.jobs import JobPayload, Jobs
from powerstrip.store import Conversation as ConversationRow
from powerstrip.store import Export, transaction

__all__ = ["PURGE_JOB", "PurgeReport", "Retention"]

PURGE_JOB = "retention.purge"

logger = logging.getLogger(__name__)


@dataclass
class PurgeReport:
    """How many rows one run of the job deleted, per table, and in how many batches."""

    counts: Counter[str] = field(default_factory=Counter)
    batches: int = 0

    def as_dict(self) -> dict[str, int]:
        return {name: self.counts[name] for name in (*COUNTED_TABLES, "exports")} | {
            "batches": self.batches
        }


class Retention:
    """Runs the retention job over one store."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        retention_days: int,
        batch_size: int,
        clock: Clock = system_clock,
        on_deleted: Callable[[Iterable[str]], None] | None = None,
        jobs: Jobs | None = None,
        interval_seconds: float = 3600.0,
    ) -> None:
        self.sessions = sessions
        self.retention_days = retention_days
        self.batch_size = batch_size
        self.clock = clock
        # Told which conversations went, so this process drops what it cached of them.
        self._on_deleted = on_deleted
        if jobs is not None:
            jobs.register(PURGE_JOB, self._purge_job)
            jobs.every(PURGE_JOB, interval_seconds)

    async def purge(self) -> PurgeReport:
        """Delete everything past its retention; running it again finds nothing more."""
        report = PurgeReport()
        now = self.clock()
        cutoff = now - timedelta(days=self.retention_days)
        while True:
            async with transaction(self.sessions) as session:
                ids = list(
                    (
                        await session.execute(
                            select(ConversationRow.id)
                            .where(
                                or_(
                                    and_(
                                        ConversationRow.history_enabled.is_(False),
                                        ConversationRow.created_at < cutoff,
                                    ),
                                    ConversationRow.deleted_at.is_not(None),
                                )
                            )
                            .order_by(ConversationRow.created_at, ConversationRow.id)
                            .limit(self.batch_size)
                            # PostgreSQL: rows another job holds are skipped, not waited for.
                            # SQLite renders nothing here; its write lock serialises batches.
                            .with_for_update(skip_locked=True)
                        )
                    ).scalars()
                )
                if not ids:
                    break
                report.counts += await delete_conversation_rows(session, ids)
            report.batches += 1
            if self._on_deleted is not None:
                self._on_deleted(ids)
        async with transaction(self.sessions) as session:
            result = await session.execute(delete(Export).where(Export.expires_at <= now))
            report.counts["exports"] += result.rowcount  # type: ignore[attr-defined]
        logger.info(
            "retention.purged %s",
            " ".join(f"{name}={count}" for name, count in report.as_dict().items()),
        )
        return report

    async def _purge_job(self, payload: JobPayload) -> None:
        await self.purge()
