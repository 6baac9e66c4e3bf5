"""`Jobs`: the host's background jobs, on arq when Redis is set, on the jobs table otherwise.

    jobs = Jobs(settings, sessions)
    jobs.register("exports.build", build_export)        # async def build_export(payload)
    jobs.every("retention.purge", 3600)                  # enqueued once per hour, by a worker
    await jobs.enqueue("exports.build", export_id, {"export": export_id})
    await jobs.start()                                   # this process works as a worker
    ...
    await jobs.aclose()

A job's id is its name and the caller's key (`exports.build:ID`): enqueueing it again while
it is queued, running or recently finished adds nothing, so it runs once. See docs/jobs.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.errors import JobError
from powerstrip.jobs.arq_runner import ArqRunner
from powerstrip.jobs.job import Enqueued, JobHandler, JobInfo, JobPayload
from powerstrip.jobs.retry import RetryPolicy
from powerstrip.jobs.schedule import Periodic, run_schedule
from powerstrip.jobs.table_runner import TableRunner
from powerstrip.settings import Settings

__all__ = ["Jobs"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")
_MAX_KEY = 120


class Jobs:
    """Enqueue named jobs by id, run them (as a worker), and tell how many wait."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self._handlers: dict[str, JobHandler] = {}
        self._periodic: list[Periodic] = []
        policy = RetryPolicy.from_settings(settings)
        self._runner: TableRunner | ArqRunner
        if settings.redis_url:
            self._runner = ArqRunner(
                settings.redis_url,
                self._handlers,
                policy,
                queue_name=settings.jobs_queue_name,
                concurrency=settings.jobs_concurrency,
                poll_seconds=settings.jobs_poll_seconds,
                keep_seconds=settings.jobs_keep_seconds,
            )
        else:
            self._runner = TableRunner(
                sessions,
                self._handlers,
                policy,
                executes=settings.jobs_in_process,
                concurrency=settings.jobs_concurrency,
                poll_seconds=settings.jobs_poll_seconds,
                keep_seconds=settings.jobs_keep_seconds,
                lease_seconds=settings.jobs_lease_seconds,
            )
        self._schedule: asyncio.Task[None] | None = None

    @property
    def backend(self) -> str:
        """`arq` (Redis) or `table` (the store's jobs table)."""
        return self._runner.kind

    @property
    def working(self) -> bool:
        """Whether this process was started as a worker (`start()`)."""
        return self._schedule is not None

    def register(self, name: str, handler: JobHandler) -> None:
        """Name the handler of a kind of job; every worker registers the same ones."""
        if not _NAME.match(name):
            raise JobError(
                f"job name {name!r} is not valid",
                where="jobs",
                fix="use lower-case letters, digits, '_' and '.', starting with a letter",
            )
        if name in self._handlers:
            raise JobError(f"job {name!r} is registered already", where="jobs")
        self._handlers[name] = handler

    def every(self, name: str, seconds: float, payload: JobPayload | None = None) -> None:
        """Run job `name` once every `seconds` (whichever worker gets it), from `start()` on."""
        self._require(name)
        self._periodic.append(Periodic(name, seconds, payload or {}))

    async def enqueue(
        self, name: str, key: str, payload: JobPayload | None = None, *, delay: float = 0.0
    ) -> Enqueued:
        """Queue job `name` under id `name:key`, to run in `delay` seconds; once per id."""
        self._require(name)
        if not key or len(key) > _MAX_KEY or any(ch.isspace() for ch in key):
            raise JobError(
                f"job key {key[:40]!r} is not valid",
                where=f"job {name}",
                fix=f"use 1 to {_MAX_KEY} characters without spaces (an id of what it works on)",
            )
        job_id = f"{name}:{key}"
        new = await self._runner.enqueue(name, job_id, payload or {}, max(0.0, delay))
        logger.info("jobs.enqueued name=%s id=%s new=%s", name, job_id, new)
        return Enqueued(job_id, new)

    async def depth(self) -> int:
        """Jobs queued or running, of every process sharing the queue (for metrics)."""
        return await self._runner.depth()

    async def info(self, job_id: str) -> JobInfo | None:
        """A job's state, tries and failure, or None when the queue does not know it (now)."""
        return await self._runner.info(job_id)

    async def cancel(self, job_id: str) -> bool:
        """Stop a queued or running job, whichever worker has it; False when it had ended."""
        return await self._runner.cancel(job_id)

    async def start(self) -> None:
        """Work as a worker in this process: run queued jobs, and enqueue the periodic ones."""
        if self._schedule is not None:
            return
        await self._runner.start()
        self._schedule = asyncio.create_task(
            run_schedule(self._periodic, self._enqueue_periodic), name="powerstrip-schedule"
        )
        logger.info(
            "jobs.working backend=%s jobs=%s",
            self.backend,
            ",".join(sorted(self._handlers)),
        )

    async def _enqueue_periodic(self, name: str, key: str, payload: JobPayload) -> Enqueued:
        return await self.enqueue(name, key, payload)

    async def stop(self) -> None:
        """Stop working: running jobs go back to the queue, for this or another worker."""
        if self._schedule is not None:
            self._schedule.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._schedule
            self._schedule = None
        await self._runner.stop()

    async def drain(self) -> None:
        """Wait for the jobs this process enqueued to finish (a test, or a one-shot command
        before it exits).

        In the jobs table, it also waits for the jobs this process is running, and returns
        at once when this process runs none. On Redis, until arq holds each one's result,
        whichever worker ran it: with no worker anywhere it waits for one. A shutdown does not
        drain: `stop()` hands running jobs back to the queue, so stopping never waits for a
        long job nor loses one."""
        await self._runner.drain()

    async def aclose(self) -> None:
        await self.stop()
        await self._runner.aclose()

    def _require(self, name: str) -> None:
        if name not in self._handlers:
            raise JobError(
                f"no job named {name!r}",
                where="jobs",
                fix=f"register it first; known jobs: {', '.join(sorted(self._handlers)) or 'none'}",
            )
