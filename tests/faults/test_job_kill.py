"""A `powerstrip worker` killed (SIGKILL) in the middle of a job: the job is taken up again by
the next worker, once the dead one's lease (jobs table) or in-progress mark (arq on Redis) ran
out, and its effects happen once. The job is an export: the first worker has built the zip and
is sending the mail with its link when it dies (the SMTP server never answered its DATA, so
that mail was not accepted); the next one mails the link and does not build the zip again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from powerstrip.host import Host
from powerstrip.jobs import JobInfo
from powerstrip.settings import Settings
from powerstrip.store import Export, Job, create_engine, session_factory
from tests.faults.serve_process import ROOT, STARTUP_SECONDS, make_vault_keys
from tests.faults.store_view import sqlite_url
from tests.jobs.backends import job_backends, redis_settings_for
from tests.smtp_inbox import SmtpInbox

pytestmark = [pytest.mark.network, pytest.mark.timeout(900)]


class WorkerProcess:
    """One `powerstrip worker` with the settings in `env`, in its own session."""

    def __init__(self, env: dict[str, str]) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("POWERSTRIP_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "powerstrip", "worker"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=clean | env,
            cwd=ROOT,
            start_new_session=True,
        )

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def finish(self, timeout: float = 60) -> str:
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            out, _ = self.process.communicate()
        return out or ""

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.communicate()


def _settings_env(settings: Settings, inbox: SmtpInbox) -> dict[str, str]:
    env = {
        "POWERSTRIP_DATA_DIR": str(settings.data_dir),
        "POWERSTRIP_VAULT_KEYS": settings.vault_keys.get_secret_value(),
        "POWERSTRIP_PUBLIC_URL": settings.public_url,
        "POWERSTRIP_SMTP_HOST": "127.0.0.1",
        "POWERSTRIP_SMTP_PORT": str(inbox.port),
        "POWERSTRIP_SMTP_SECURITY": "none",
        "POWERSTRIP_SMTP_FROM": "powerstrip@example.org",
        # Short, so the dead worker's job comes back within seconds: the table's lease, and
        # on Redis the in-progress mark (the time limit, arq's grace and 10 s).
        "POWERSTRIP_JOBS_LEASE_SECONDS": "3",
        "POWERSTRIP_JOBS_TIMEOUT_SECONDS": "5",
        "POWERSTRIP_JOBS_POLL_SECONDS": "0.2",
    }
    if settings.redis_url:
        env |= {
            "POWERSTRIP_REDIS_URL": settings.redis_url,
            "POWERSTRIP_JOBS_QUEUE_NAME": settings.jobs_queue_name,
        }
    return env


async def _queue_export(settings: Settings) -> tuple[str, str]:
    """From a web-only process: a background export for ada (with an address); id and link."""
    host = await Host.start(settings)
    try:
        ada = await host.users.ensure("ada")
        await host.data.update(ada, email="ada@example.com")
        ticket = await host.exports.start(ada, mode="background")
    finally:
        await host.aclose()
    return ticket.info.id, ticket.download_url


async def _read(url: str, export_id: str) -> tuple[str, str | None, datetime | None, str | None]:
    """The export's status, address mailed, build time, and (table) its job's state."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            row = await session.get(Export, export_id)
            assert row is not None
            job = await session.scalar(
                select(Job.status).where(Job.id == f"exports.build:{export_id}")
            )
            return row.status, row.mailed_to, row.finished_at, job
    finally:
        await engine.dispose()


async def _job_info(settings: Settings, job_id: str) -> JobInfo | None:
    """The job as its queue knows it, asked from a web-only process."""
    host = await Host.start(settings)
    try:
        return await host.jobs.info(job_id)
    finally:
        await host.aclose()


def _until(check: object, what: str, seconds: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


@pytest.mark.parametrize("backend", job_backends())
def test_a_job_whose_worker_was_killed_mid_way_is_finished_once_by_the_next_worker(
    tmp_path: Path, backend: str
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        vault_keys=make_vault_keys(),
        public_url="https://powerstrip.example.org",
        jobs_in_process=False,
        export_inline_rows=0,
        **(redis_settings_for(backend) | {"jobs_queue_name": f"t-{uuid.uuid4().hex[:12]}"}),
    )
    url = sqlite_url(tmp_path)
    with SmtpInbox(stall_first=1) as inbox:
        export_id, link = asyncio.run(_queue_export(settings))
        env = _settings_env(settings, inbox)
        with WorkerProcess(env) as first:
            assert inbox.stalled.wait(STARTUP_SECONDS), first.finish(timeout=1)
            first.signal(signal.SIGKILL)  # mid-job: the zip built, its mail on the wire
            first.finish()
        status, mailed, built_at, job = asyncio.run(_read(url, export_id))
        assert (status, mailed) == ("ready", None)
        if backend == "table":
            assert job == "running"  # as the dead worker left it, its lease running out
        with WorkerProcess(env) as second:
            _until(lambda: inbox.arrived.is_set(), "the next worker never mailed the link")
            _until(
                lambda: asyncio.run(_read(url, export_id))[1] is not None,
                "the mail was never recorded",
            )
            second.signal(signal.SIGTERM)
            output = second.finish()  # the worker's console (its log goes there too)
    status, mailed, rebuilt_at, job = asyncio.run(_read(url, export_id))
    assert (status, mailed) == ("ready", "ada@example.com")
    assert rebuilt_at == built_at  # the zip was built once, by the first worker
    if backend == "table":
        assert job == "done"
    [(recipients, mail)] = inbox.mails  # one mail accepted, with the link the user was shown
    assert recipients == ["ada@example.com"]
    assert link in mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    info = asyncio.run(_job_info(settings, f"exports.build:{export_id}"))
    assert info is not None
    assert info.status == "done", (info, output)
