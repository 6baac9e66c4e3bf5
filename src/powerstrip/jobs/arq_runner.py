"""The Redis runner: jobs on an arq queue, run by arq workers in any number of processes.

arq gives the guarantees the embedded runner builds on its table: a job id enqueued again while
the job is queued, running or its result kept (`POWERSTRIP_JOBS_KEEP_SECONDS`) is not queued
twice; a worker marks the job it runs in progress for the job's time limit plus 15 seconds, so
when that worker dies the job is run by another once the mark runs out; a cancel (`abort`)
reaches the job whichever worker runs it. Payloads and results travel as JSON, never pickles:
whoever can write to Redis cannot make a worker run code.

Job ids are prefixed with `POWERSTRIP_JOBS_QUEUE_NAME`, so deployments sharing one Redis never
share a job.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Mapping
from typing import Any

import anyio
from arq import ArqRedis, Retry, Worker, create_pool
from arq.connections import RedisSettings
from arq.jobs import Job, JobResult, JobStatus
from arq.worker import func
from redis.exceptions import RedisError

from powerstrip.errors import JobError
from powerstrip.jobs.attempt import attempt
from powerstrip.jobs.job import JobHandler, JobInfo, JobPayload, JobState
from powerstrip.jobs.retry import RetryPolicy

__all__ = ["ArqRunner", "redis_settings"]

logger = logging.getLogger(__name__)

# Our own time limit fires first, so a slow job is recorded by `attempt` and not cut by arq.
_ARQ_GRACE_SECONDS = 5.0
# Tries arq allows beyond ours: a worker stopping (or dying) mid-job spends one of arq's.
_SPARE_TRIES = 3


def _serialize(value: Any) -> bytes:  # Any: arq's job and result records
    return json.dumps(value, default=_describe).encode()


def _deserialize(data: bytes) -> Any:  # Any: JSON
    return json.loads(data)


def _describe(value: object) -> object:
    # arq records a job that raised (cancelled, out of tries) with the exception itself.
    if isinstance(value, BaseException):
        return {"exception": type(value).__name__, "message": str(value)[:500]}
    return str(value)


def redis_settings(url: str) -> RedisSettings:
    """arq's connection settings for a `redis://` or `rediss://` URL (hostnames checked)."""
    try:
        parsed = RedisSettings.from_dsn(url)
    except (RuntimeError, ValueError):
        raise JobError(
            "the Redis URL is not valid",
            where="POWERSTRIP_REDIS_URL",
            fix="use redis://[:PASSWORD@]HOST:6379/DB, or rediss:// for TLS",
        ) from None  # the cause quotes the URL, which may hold a password
    return dataclasses.replace(
        parsed, conn_retries=1, conn_retry_delay=1, ssl_check_hostname=parsed.ssl
    )


def _unreachable(settings: RedisSettings) -> JobError:
    return JobError(
        f"the job queue on Redis at {settings.host}:{settings.port} cannot be reached",
        where="POWERSTRIP_REDIS_URL",
        fix="start Redis, or check the URL and password",
    )


def _whole() -> anyio.CancelScope:
    """A Redis exchange, once begun, runs to its end (bounded by the sockets' timeouts).

    redis-py gives a pipeline's connection back in awaits of its own (UNWATCH, then the
    release); inside an anyio scope that was cancelled, every await is cancelled again, so a
    cut exchange would leave its connection to the garbage collector ("Unclosed client") and a
    queue transaction halfway through its WATCH. The cancellation comes right after instead.
    """
    return anyio.CancelScope(shield=True)


class ArqRunner:
    """Enqueue onto, and run a worker of, the arq queue named by the settings."""

    kind = "arq"

    def __init__(
        self,
        url: str,
        handlers: Mapping[str, JobHandler],
        policy: RetryPolicy,
        *,
        queue_name: str,
        concurrency: int,
        poll_seconds: float,
        keep_seconds: float,
    ) -> None:
        self.settings = redis_settings(url)
        self.handlers = handlers
        self.policy = policy
        self.queue_name = f"{queue_name}:queue"
        self.prefix = f"{queue_name}:"
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.keep_seconds = keep_seconds
        self._pool: ArqRedis | None = None
        self._connecting = asyncio.Lock()
        self._worker: Worker | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self._worker_pool: ArqRedis | None = None
        self._mine: set[str] = set()

    async def _redis(self) -> ArqRedis:
        async with self._connecting:
            if self._pool is None:
                try:
                    self._pool = await create_pool(
                        self.settings,
                        job_serializer=_serialize,
                        job_deserializer=_deserialize,
                        default_queue_name=self.queue_name,
                    )
                except (RedisError, OSError):
                    raise _unreachable(self.settings) from None
            return self._pool

    def _job(self, pool: ArqRedis, job_id: str) -> Job:
        return Job(
            self.prefix + job_id, pool, _queue_name=self.queue_name, _deserializer=_deserialize
        )

    # -- the queue -------------------------------------------------------------------------

    async def enqueue(self, name: str, job_id: str, payload: JobPayload, delay: float) -> bool:
        pool = await self._redis()
        try:
            with _whole():
                job = await pool.enqueue_job(
                    name, payload, _job_id=self.prefix + job_id, _defer_by=delay or None
                )
        except (RedisError, OSError):
            raise _unreachable(self.settings) from None
        if job is not None:
            self._mine.add(job_id)
        return job is not None

    async def depth(self) -> int:
        pool = await self._redis()
        try:
            with _whole():
                queued = await pool.zcard(self.queue_name)
        except (RedisError, OSError):
            raise _unreachable(self.settings) from None
        return int(queued)

    async def info(self, job_id: str) -> JobInfo | None:
        pool = await self._redis()
        try:
            with _whole():
                found = await self._read(self._job(pool, job_id))
        except (RedisError, OSError):
            raise _unreachable(self.settings) from None
        if found is None or isinstance(found, JobInfo):
            return found
        result = found
        value = result.result
        state: JobState
        error: str | None = None
        if result.success and isinstance(value, dict):
            state = "failed" if value.get("status") == "failed" else "done"
            error = value.get("error")
        elif isinstance(value, dict) and value.get("exception") == "CancelledError":
            state = "cancelled"
        else:
            state = "failed"
            message = value.get("message") if isinstance(value, dict) else None
            error = f"the queue gave up on the job: {message or 'it failed'}"
        return JobInfo(job_id, result.function, state, result.job_try, error)

    async def _read(self, job: Job) -> JobInfo | JobResult | None:
        """A job not found (None), not finished (its `JobInfo`), or finished (arq's result)."""
        status = await job.status()
        if status is JobStatus.not_found:
            return None
        if status is not JobStatus.complete:
            state: JobState = "running" if status is JobStatus.in_progress else "queued"
            found = await job.info()
            job_id = job.job_id.removeprefix(self.prefix)
            return JobInfo(job_id, found.function if found else "", state, 0)
        return await job.result_info()

    async def cancel(self, job_id: str) -> bool:
        pool = await self._redis()
        job = self._job(pool, job_id)
        try:
            with _whole():
                if await job.status() in (JobStatus.complete, JobStatus.not_found):
                    return False
                with contextlib.suppress(TimeoutError):
                    await job.abort(timeout=0, poll_delay=0.05)
        except (RedisError, OSError):
            raise _unreachable(self.settings) from None
        return True

    # -- running ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Run an arq worker in this process's event loop, until `stop()`."""
        if self._worker_task is not None:
            return
        await self._redis()  # fail now, clearly, when Redis is away
        # The worker's own connections, closed by `stop()` (arq's `close()` uses a call redis
        # deprecated).
        self._worker_pool = await create_pool(
            self.settings,
            job_serializer=_serialize,
            job_deserializer=_deserialize,
            default_queue_name=self.queue_name,
        )
        functions = [
            func(
                self._wrap(name, handler),
                name=name,
                timeout=self.policy.timeout_seconds + _ARQ_GRACE_SECONDS,
                max_tries=self.policy.max_attempts + _SPARE_TRIES,
            )
            for name, handler in self.handlers.items()
        ]
        self._worker = Worker(
            functions=functions,
            queue_name=self.queue_name,
            redis_pool=self._worker_pool,
            handle_signals=False,  # the server (or `powerstrip worker`) owns the signals
            max_jobs=self.concurrency,
            job_timeout=self.policy.timeout_seconds + _ARQ_GRACE_SECONDS,
            keep_result=self.keep_seconds,
            poll_delay=self.poll_seconds,
            max_tries=self.policy.max_attempts + _SPARE_TRIES,
            allow_abort_jobs=True,
            job_serializer=_serialize,
            job_deserializer=_deserialize,
            health_check_key=f"{self.prefix}health-check",
            log_results=False,  # `attempt` logs each try, without arq's argument dump
        )
        self._worker_task = asyncio.create_task(self._worker.async_run(), name="powerstrip-arq")
        logger.info("jobs.worker_started queue=%s", self.queue_name)

    def _wrap(self, name: str, handler: JobHandler) -> Any:  # Any: arq's coroutine type
        policy = self.policy
        prefix = self.prefix

        async def run(ctx: dict[str, Any], payload: JobPayload) -> dict[str, Any]:
            job_id = str(ctx["job_id"]).removeprefix(prefix)
            outcome = await attempt(
                name, job_id, handler, payload, tries=int(ctx["job_try"]), policy=policy
            )
            if outcome.status == "retry":
                raise Retry(defer=outcome.delay)
            return {"status": outcome.status, "error": outcome.error}

        run.__qualname__ = name
        return run

    async def stop(self) -> None:
        """Stop the worker: jobs running are cancelled and go back to the queue (arq retries)."""
        worker, task, pool = self._worker, self._worker_task, self._worker_pool
        self._worker = self._worker_task = self._worker_pool = None
        if worker is None or task is None or pool is None:
            return
        task.cancel()  # no new job is picked
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # Cancel the jobs themselves, not arq's tasks around them: those then record each job
        # as "cancelled, will be run again" before they end (cancelling them would leave that
        # write running on connections about to close). A task still reading its job starts
        # it, to be cancelled on the next round.
        while pending := [task for task in worker.tasks.values() if not task.done()]:
            for job in list(worker.job_tasks.values()):
                job.cancel()
            await asyncio.wait(pending, timeout=0.05)
        await pool.aclose()
        logger.info("jobs.worker_stopped queue=%s", self.queue_name)

    async def drain(self) -> None:
        """Wait until every job this process enqueued has a result (a worker ran it)."""
        while self._mine:
            for job_id in list(self._mine):
                found = await self.info(job_id)
                if found is None or found.status in ("done", "failed", "cancelled"):
                    self._mine.discard(job_id)
            if self._mine:
                await asyncio.sleep(self.poll_seconds)

    async def aclose(self) -> None:
        await self.stop()
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
