"""`Jobs` on both backends: once per id, retried when a failure passes, surviving a restart."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from powerstrip.errors import ConnectError, InvalidInputError, JobError, RetryLaterError
from powerstrip.jobs import JobInfo, JobPayload, Jobs
from powerstrip.logs import bound_log_ids
from powerstrip.settings import Settings
from powerstrip.store import Job, create_engine, session_factory, transaction, upgrade, utcnow
from tests.databases import backends, postgres_schema
from tests.jobs.backends import job_backends, redis_settings_for

pytestmark = pytest.mark.anyio


# The jobs table on PostgreSQL too: the backend of several workers without Redis.
@pytest.fixture(params=[*job_backends(), *(["table-postgres"] if "postgres" in backends() else [])])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def settings(tmp_path: Path, backend: str) -> AsyncIterator[Settings]:
    fields: dict[str, Any] = {
        "data_dir": tmp_path,
        "jobs_poll_seconds": 0.05,
        "jobs_retry_seconds": 0.05,
        "jobs_retry_max_seconds": 0.2,
        "jobs_max_attempts": 3,
    }
    if backend == "table-postgres":
        async with postgres_schema() as url:
            chosen = Settings(**fields, database_url=url.render_as_string(hide_password=False))
            await upgrade(chosen.database_url)
            yield chosen
        return
    chosen = Settings(**fields, **redis_settings_for(backend))
    await upgrade(chosen.database_url)
    yield chosen


@asynccontextmanager
async def open_jobs(settings: Settings, **changes: Any) -> AsyncIterator[Jobs]:
    """A `Jobs` over the settings' store (and queue), as one process would have it."""
    engine = create_engine(settings.database_url)
    jobs = Jobs(settings.model_copy(update=changes), session_factory(engine))
    try:
        yield jobs
    finally:
        await jobs.aclose()
        await engine.dispose()


class Recorder:
    """A handler that notes each run's payload and job id, optionally failing first."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.runs: list[JobPayload] = []
        self.ids: list[str] = []
        self.failures = list(failures or [])
        self.ran = asyncio.Event()

    async def __call__(self, payload: JobPayload) -> None:
        self.ids.append(bound_log_ids()["job"])
        self.runs.append(payload)
        self.ran.set()
        if self.failures:
            raise self.failures.pop(0)


async def finished(jobs: Jobs, job_id: str) -> JobInfo:
    """The job once it has ended (the deadline only ends a hang)."""
    with anyio.fail_after(30):
        while True:
            info = await jobs.info(job_id)
            if info is not None and info.status in ("done", "failed", "cancelled"):
                return info
            await anyio.sleep(0.02)


async def test_a_job_enqueued_twice_under_one_id_runs_once(settings: Settings) -> None:
    async with open_jobs(settings) as jobs:
        handler = Recorder()
        jobs.register("test.count", handler)
        await jobs.start()
        first = await jobs.enqueue("test.count", "one", {"n": 1})
        second = await jobs.enqueue("test.count", "one", {"n": 2})
        assert (first.job_id, first.new, second.new) == ("test.count:one", True, False)
        info = await finished(jobs, first.job_id)
        assert (info.status, info.attempts, info.error) == ("done", 1, None)
        # Enqueued again once it ran: still the same job, not run again.
        assert not (await jobs.enqueue("test.count", "one", {"n": 3})).new
        await jobs.enqueue("test.count", "two", {"n": 4})
        await finished(jobs, "test.count:two")
        assert handler.runs == [{"n": 1}, {"n": 4}]


async def test_a_job_queued_while_no_worker_runs_is_run_by_a_worker_started_later(
    settings: Settings,
) -> None:
    # A web-only process (it runs no jobs) queues the job and stops.
    async with open_jobs(settings, jobs_in_process=False) as web:
        web.register("test.count", Recorder())
        queued = await web.enqueue("test.count", "later", {"n": 1})
        assert await web.depth() == 1
        assert (await web.info(queued.job_id)) is not None
    async with open_jobs(settings) as worker:
        handler = Recorder()
        worker.register("test.count", handler)
        await worker.start()
        assert (await finished(worker, queued.job_id)).status == "done"
        assert handler.runs == [{"n": 1}]
        assert await worker.depth() == 0


async def test_a_job_failing_for_a_passing_reason_is_retried_then_succeeds(
    settings: Settings,
) -> None:
    async with open_jobs(settings) as jobs:
        handler = Recorder([ConnectError("refused"), RetryLaterError("busy")])
        jobs.register("test.flaky", handler)
        await jobs.start()
        queued = await jobs.enqueue("test.flaky", "x")
        info = await finished(jobs, queued.job_id)
        assert (info.status, info.attempts) == ("done", 3)
        assert len(handler.runs) == 3


async def test_a_job_out_of_tries_is_recorded_as_failed_and_logged(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_jobs(settings) as jobs:
        jobs.register("test.down", Recorder([ConnectError("refused")] * 5))
        jobs.register("test.bad", Recorder([InvalidInputError("no such thing", where="x")]))
        await jobs.start()
        with caplog.at_level(logging.INFO, logger="powerstrip.jobs"):
            down = await jobs.enqueue("test.down", "x")
            bad = await jobs.enqueue("test.bad", "x")
            down_info = await finished(jobs, down.job_id)
            bad_info = await finished(jobs, bad.job_id)
    assert (down_info.status, down_info.attempts, down_info.error) == ("failed", 3, "refused")
    # A failure that trying again cannot change fails at its first try.
    assert (bad_info.status, bad_info.attempts, bad_info.error) == ("failed", 1, "no such thing")
    failed = [r.getMessage() for r in caplog.records if "jobs.failed" in r.getMessage()]
    assert any("name=test.down tries=3 error=refused" in text for text in failed)
    assert any("name=test.bad tries=1" in text for text in failed)


async def test_a_running_job_can_be_cancelled(settings: Settings) -> None:
    started = asyncio.Event()

    async def forever(payload: JobPayload) -> None:
        started.set()
        await asyncio.Event().wait()

    async with open_jobs(settings) as jobs:
        jobs.register("test.forever", forever)
        await jobs.start()
        queued = await jobs.enqueue("test.forever", "x")
        with anyio.fail_after(30):
            await started.wait()
        assert await jobs.cancel(queued.job_id)
        assert (await finished(jobs, queued.job_id)).status == "cancelled"
        assert not await jobs.cancel(queued.job_id)  # it had ended


async def test_a_periodic_job_runs_once_per_period_however_many_workers_run(
    settings: Settings,
) -> None:
    handler = Recorder()
    async with open_jobs(settings) as one, open_jobs(settings) as two:
        for jobs in (one, two):
            jobs.register("test.tick", handler)
            jobs.every("test.tick", 0.2)
            await jobs.start()
        with anyio.fail_after(30):
            while len(handler.ids) < 3:
                handler.ran.clear()
                await handler.ran.wait()
    assert len(handler.ids) == len(set(handler.ids))  # no period's job ran twice
    assert all(job_id.startswith("test.tick:") for job_id in handler.ids)


async def test_unknown_jobs_and_malformed_keys_are_refused(settings: Settings) -> None:
    async with open_jobs(settings) as jobs:
        with pytest.raises(JobError, match="no job named 'nope'"):
            await jobs.enqueue("nope", "x")
        jobs.register("test.count", Recorder())
        with pytest.raises(JobError, match="key"):
            await jobs.enqueue("test.count", "has space")
        with pytest.raises(JobError, match="registered already"):
            jobs.register("test.count", Recorder())
        with pytest.raises(JobError, match="not valid"):
            jobs.register("Bad Name", Recorder())
        assert await jobs.depth() == 0


# -- the jobs table only --------------------------------------------------------------------


@pytest.fixture
async def table_settings(tmp_path: Path) -> Settings:
    chosen = Settings(data_dir=tmp_path, jobs_poll_seconds=0.05)
    await upgrade(chosen.database_url)
    return chosen


async def test_a_job_stopped_mid_run_is_handed_back_and_run_by_the_next_process(
    table_settings: Settings,
) -> None:
    started = asyncio.Event()

    async def forever(payload: JobPayload) -> None:
        started.set()
        await asyncio.Event().wait()

    async with open_jobs(table_settings) as first:
        first.register("test.job", forever)
        queued = await first.enqueue("test.job", "x")  # this process runs its own job
        with anyio.fail_after(30):
            await started.wait()
    # Stopped cleanly: the job is queued again at once, its interrupted try not counted.
    async with open_jobs(table_settings) as second:
        handler = Recorder()
        second.register("test.job", handler)
        info = await second.info(queued.job_id)
        assert info is not None
        assert (info.status, info.attempts) == ("queued", 0)
        await second.start()
        assert (await finished(second, queued.job_id)).status == "done"
        assert handler.runs == [{}]


async def test_a_job_whose_process_died_is_taken_up_when_its_lease_runs_out(
    table_settings: Settings,
) -> None:
    engine = create_engine(table_settings.database_url)
    try:
        async with transaction(session_factory(engine)) as session:
            session.add(
                Job(
                    id="test.job:orphan",
                    name="test.job",
                    payload={"n": 1},
                    status="running",
                    attempts=1,
                    run_at=utcnow() - timedelta(minutes=5),
                    owner="a-process-that-died",
                    lease_until=utcnow() - timedelta(seconds=1),
                )
            )
    finally:
        await engine.dispose()
    async with open_jobs(table_settings) as worker:
        handler = Recorder()
        worker.register("test.job", handler)
        await worker.start()
        info = await finished(worker, "test.job:orphan")
        assert (info.status, info.attempts) == ("done", 2)
        assert handler.runs == [{"n": 1}]


async def test_a_process_runs_the_jobs_it_enqueued_without_being_a_worker(
    table_settings: Settings,
) -> None:
    async with open_jobs(table_settings) as jobs:
        handler = Recorder()
        jobs.register("test.job", handler)
        await jobs.enqueue("test.job", "mine", {"n": 1})
        await jobs.drain()
        assert handler.runs == [{"n": 1}]
        assert not jobs.working


@pytest.mark.parametrize("backend", [b for b in job_backends() if b == "arq"])
async def test_a_queue_exchange_begun_under_a_cancelled_scope_runs_to_its_end(
    settings: Settings,
) -> None:
    # redis-py gives a pipeline's connection back in awaits of its own: cut by a cancelled
    # anyio scope (which cancels every await again), the connection was left to the garbage
    # collector and the enqueue's transaction halfway through its WATCH.
    async with open_jobs(settings, jobs_in_process=False) as jobs:
        jobs.register("test.count", Recorder())
        assert await jobs.depth() == 0  # connected: what follows are the exchanges alone
        got: list[object] = []
        with anyio.CancelScope() as scope:
            scope.cancel()
            got.append(await jobs.enqueue("test.count", "cut", {"n": 1}))
            got.append(await jobs.info("test.count:cut"))
            got.append(await jobs.depth())
            # The cancellation comes here, once the exchanges are done.
            await anyio.lowlevel.checkpoint()
            got.append("not reached")
        assert scope.cancelled_caught
        queued, info, depth = got
        assert getattr(queued, "new", None) is True
        assert isinstance(info, JobInfo)
        assert info.status == "queued"
        assert depth == 1
