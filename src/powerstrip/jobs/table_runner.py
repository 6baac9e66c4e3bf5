"""The embedded runner: jobs kept in the store's `jobs` table, run as asyncio tasks.

Without Redis, the queue is the `jobs` table of the database every process already shares. A
job is one row, its primary key the enqueuer's deterministic id, so enqueueing it again adds
nothing. A process takes a job by one conditional UPDATE (`queued` and due, or `running` with
its lease run out), so of several processes exactly one wins it, on SQLite and PostgreSQL
alike; while running it, the process keeps moving the job's lease on. A process that dies
leaves its job `running` with a lease that runs out, and another process (or itself, started
again) takes it up: jobs survive a restart. A process that stops cleanly hands its running
jobs back at once.

Which jobs a process takes: the ones it enqueued itself (run at once, as the process's own
background tasks) whenever it runs jobs at all (`POWERSTRIP_JOBS_IN_PROCESS`), and every job
of the table once it is started as a worker (`powerstrip serve` or `powerstrip worker`), which
also picks up what was left unfinished before it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.jobs.attempt import Outcome, attempt
from powerstrip.jobs.job import JobHandler, JobInfo, JobPayload, JobState
from powerstrip.jobs.retry import RetryPolicy
from powerstrip.store import Job, transaction, utcnow

__all__ = ["TableRunner"]

logger = logging.getLogger(__name__)

# A running job's lease: moved on every quarter of it, so a live worker never loses its job
# and a dead one's job is taken up within this time.
LEASE_SECONDS = 60.0
_PRUNE_EVERY = 600.0


class TableRunner:
    """Enqueue into, and run jobs from, the store's `jobs` table."""

    kind = "table"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        handlers: Mapping[str, JobHandler],
        policy: RetryPolicy,
        *,
        executes: bool,
        concurrency: int,
        poll_seconds: float,
        keep_seconds: float,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.sessions = sessions
        self.handlers = handlers
        self.policy = policy
        self.executes = executes
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.keep_seconds = keep_seconds
        self.lease_seconds = lease_seconds
        # Names this process's claims; a new one per process, so a restarted one is another.
        self.owner = uuid.uuid4().hex
        self._worker = False  # True: take any job of the table, not only our own
        self._mine: set[str] = set()  # jobs this process enqueued and has not seen finish
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cancelled: set[str] = set()
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._last_beat = 0.0
        self._last_prune = 0.0
        self._closing = False

    # -- the queue -------------------------------------------------------------------------

    async def enqueue(self, name: str, job_id: str, payload: JobPayload, delay: float) -> bool:
        """Add the job unless its id is there already; True when this call added it."""
        now = utcnow()
        async with transaction(self.sessions) as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = (
                insert(Job)
                .values(
                    id=job_id,
                    name=name,
                    payload=payload,
                    status="queued",
                    attempts=0,
                    run_at=now + timedelta(seconds=delay),
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["id"])
                # A row comes back only when this statement inserted it (rowcount is not
                # reliable for ON CONFLICT on every driver).
                .returning(Job.id)
            )
            new = (await session.execute(statement)).first() is not None
        if new and self.executes:
            self._mine.add(job_id)
            self._ensure_loop()
            self._wake.set()
        return new

    async def depth(self) -> int:
        async with self.sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(Job).where(Job.status.in_(("queued", "running")))
            )
        return int(count or 0)

    async def info(self, job_id: str) -> JobInfo | None:
        async with self.sessions() as session:
            row = await session.get(Job, job_id)
            if row is None:
                return None
            state: JobState = row.status  # type: ignore[assignment]
            return JobInfo(row.id, row.name, state, row.attempts, row.error)

    async def cancel(self, job_id: str) -> bool:
        """Mark a queued or running job cancelled; its worker stops it (at its next beat)."""
        async with transaction(self.sessions) as session:
            result = await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status.in_(("queued", "running")))
                .values(status="cancelled", finished_at=utcnow(), owner=None, lease_until=None)
            )
            changed = bool(result.rowcount)  # type: ignore[attr-defined]
        task = self._tasks.get(job_id)
        if task is not None:
            self._cancelled.add(job_id)
            task.cancel()
        self._forget(job_id)
        return changed

    # -- running ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Work as a worker: take every due job of the table, left over ones first."""
        self._worker = True
        self._closing = False
        self._ensure_loop()
        self._wake.set()

    async def stop(self) -> None:
        """Stop taking jobs; hand the running ones back to the queue for another process."""
        self._closing = True
        self._worker = False
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        tasks = list(self._tasks.items())
        for _, task in tasks:
            task.cancel()
        for _, task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._changed.set()

    async def drain(self) -> None:
        """Wait until every job this process enqueued has finished (done, failed, cancelled)."""
        while self._mine or self._tasks:
            if self._loop is None and not self._tasks:
                return  # nothing here runs them (stopped, or jobs run elsewhere)
            self._changed.clear()
            await self._changed.wait()

    async def aclose(self) -> None:
        await self.stop()

    def _ensure_loop(self) -> None:
        if self._loop is None or self._loop.done():
            self._closing = False
            self._loop = asyncio.create_task(self._run_loop(), name="powerstrip-jobs")

    async def _run_loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self._beat()
                await self._fill()
            except Exception:
                # The store is away or refused: the next round tries again.
                logger.exception("jobs.loop_failed")
            # With jobs running, often enough to keep their leases moving.
            wait = min(self.poll_seconds, self.lease_seconds / 4) if self._tasks else None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait or self.poll_seconds):
                    await self._wake.wait()

    @staticmethod
    def _due() -> ColumnElement[bool]:
        now = utcnow()
        return or_(
            and_(Job.status == "queued", Job.run_at <= now),
            and_(Job.status == "running", Job.lease_until < now),
        )

    async def _fill(self) -> None:
        free = self.concurrency - len(self._tasks)
        if free <= 0:
            return
        condition = self._due()
        if not self._worker:
            pending = [job_id for job_id in self._mine if job_id not in self._tasks]
            if not pending:
                return
            condition = and_(condition, Job.id.in_(pending))
        async with self.sessions() as session:
            ids = list(
                (
                    await session.execute(
                        select(Job.id).where(condition).order_by(Job.run_at).limit(free)
                    )
                ).scalars()
            )
        for job_id in ids:
            if job_id in self._tasks:
                continue
            claimed = await self._claim(job_id)
            if claimed is not None:
                name, payload, tries = claimed
                self._tasks[job_id] = asyncio.create_task(
                    self._execute(job_id, name, payload, tries), name=f"job {job_id}"
                )

    async def _claim(self, job_id: str) -> tuple[str, JobPayload, int] | None:
        now = utcnow()
        async with transaction(self.sessions) as session:
            result = await session.execute(
                update(Job)
                .where(Job.id == job_id, self._due())
                .values(
                    status="running",
                    owner=self.owner,
                    lease_until=now + timedelta(seconds=self.lease_seconds),
                    attempts=Job.attempts + 1,
                )
                .returning(Job.name, Job.payload, Job.attempts)
            )
            row = result.one_or_none()
        if row is None:
            return None  # another process took it, or it was cancelled
        name, payload, tries = row
        if tries > self.policy.max_attempts + 2:
            # Its worker died during every try: a job that kills its process is not tried again.
            await self._finish(
                job_id,
                Outcome("failed", f"the job's worker stopped during each of its {tries - 1} tries"),
            )
            logger.error("jobs.failed name=%s id=%s error=worker stopped each try", name, job_id)
            return None
        return name, dict(payload or {}), tries

    async def _execute(self, job_id: str, name: str, payload: JobPayload, tries: int) -> None:
        try:
            handler = self.handlers.get(name)
            if handler is None:
                outcome = Outcome(
                    "failed",
                    f"no job named {name!r} in this worker: are all workers the same version?",
                )
                logger.error("jobs.failed name=%s id=%s error=unknown job", name, job_id)
            else:
                outcome = await attempt(
                    name, job_id, handler, payload, tries=tries, policy=self.policy
                )
            await self._finish(job_id, outcome)
        except asyncio.CancelledError:
            if job_id not in self._cancelled:
                await asyncio.shield(self._release(job_id))
            raise
        except Exception:
            logger.exception("jobs.record_failed id=%s", job_id)  # its lease runs out: retried
        finally:
            self._tasks.pop(job_id, None)
            self._cancelled.discard(job_id)
            self._changed.set()
            if not self._closing:
                self._wake.set()  # a slot is free

    async def _finish(self, job_id: str, outcome: Outcome) -> None:
        now = utcnow()
        values: dict[str, object]
        if outcome.status == "retry":
            values = {
                "status": "queued",
                "run_at": now + timedelta(seconds=outcome.delay),
                "error": outcome.error,
            }
        else:
            values = {"status": outcome.status, "error": outcome.error, "finished_at": now}
        async with transaction(self.sessions) as session:
            await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.owner == self.owner, Job.status == "running")
                .values(owner=None, lease_until=None, **values)
            )
        if outcome.status != "retry":
            self._forget(job_id)

    async def _release(self, job_id: str) -> None:
        """Give a job this process is stopping back to the queue, its try not counted."""
        try:
            async with transaction(self.sessions) as session:
                await session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.owner == self.owner, Job.status == "running")
                    .values(
                        status="queued",
                        owner=None,
                        lease_until=None,
                        run_at=utcnow(),
                        attempts=Job.attempts - 1,
                    )
                )
            logger.info("jobs.released id=%s", job_id)
        except Exception:
            logger.exception("jobs.release_failed id=%s", job_id)  # its lease runs out instead

    def _forget(self, job_id: str) -> None:
        self._mine.discard(job_id)
        self._changed.set()

    async def _beat(self) -> None:
        """Move our jobs' leases on, stop the ones cancelled elsewhere, prune old records."""
        clock = time.monotonic()
        if self._tasks and clock - self._last_beat >= self.lease_seconds / 4:
            self._last_beat = clock
            running = list(self._tasks)
            async with transaction(self.sessions) as session:
                await session.execute(
                    update(Job)
                    .where(Job.id.in_(running), Job.owner == self.owner, Job.status == "running")
                    .values(lease_until=utcnow() + timedelta(seconds=self.lease_seconds))
                )
                cancelled = list(
                    (
                        await session.execute(
                            select(Job.id).where(Job.id.in_(running), Job.status == "cancelled")
                        )
                    ).scalars()
                )
            for job_id in cancelled:
                task = self._tasks.get(job_id)
                if task is not None:
                    logger.info("jobs.cancelled id=%s", job_id)
                    self._cancelled.add(job_id)
                    task.cancel()
        if self._worker and clock - self._last_prune >= _PRUNE_EVERY:
            self._last_prune = clock
            cutoff = utcnow() - timedelta(seconds=self.keep_seconds)
            async with transaction(self.sessions) as session:
                await session.execute(
                    delete(Job).where(
                        Job.status.in_(("done", "failed", "cancelled")), Job.finished_at < cutoff
                    )
                )
