"""The host's jobs survive the process that queued them: a later worker runs them, once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import select

from powerstrip.host import Host
from powerstrip.host.key_rotation import rotate_keys
from powerstrip.host.responses import ResponseRequest
from powerstrip.settings import Settings
from powerstrip.store import Job
from powerstrip.testing import Reply, ScriptedModelServer
from tests.jobs.backends import job_backends, redis_settings_for
from tests.server.conftest import vault_key
from tests.smtp_inbox import SmtpInbox

pytestmark = pytest.mark.anyio


@pytest.fixture(params=job_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as scripted:
        yield scripted


@pytest.fixture
def settings(tmp_path: Path, backend: str, model: ScriptedModelServer) -> Settings:
    return Settings(
        data_dir=tmp_path,
        vault_keys=vault_key(),
        public_url="https://powerstrip.example.org",
        model_base_url=model.base_url,
        model_name="scripted-model",
        jobs_poll_seconds=0.05,
        export_inline_rows=0,
        **redis_settings_for(backend),
    )


@asynccontextmanager
async def running(settings: Settings, *, worker: bool, **changes: Any) -> AsyncIterator[Host]:
    """A host as one process has it: a worker (`jobs.start()`), or a web-only server."""
    host = await Host.start(settings.model_copy(update={"jobs_in_process": worker, **changes}))
    try:
        if worker:
            await host.jobs.start()
        yield host
    finally:
        await host.aclose()


async def _response(host: Host, username: str, response_id: str, *statuses: str) -> Any:
    user = await host.users.ensure(username)
    with anyio.fail_after(30):  # ends a hang; measures nothing
        while True:
            found = await host.openai.responses.get(user, response_id)
            if found["status"] in statuses:
                return found
            await anyio.sleep(0.05)


async def test_a_background_response_queued_before_a_restart_is_run_by_the_next_worker(
    settings: Settings, model: ScriptedModelServer
) -> None:
    model.push(Reply("Done after the restart."))
    async with running(settings, worker=False) as web:
        ada = await web.users.ensure("ada")
        responses = web.openai.responses
        run = await responses.start(
            ada, ResponseRequest(model="scripted-model", input="Work", background=True)
        )
        queued = await responses.background(run)
        assert queued["status"] == "queued"
    assert model.requests == []  # nothing ran it
    async with running(settings, worker=True) as worker:
        done = await _response(worker, "ada", queued["id"], "completed", "failed")
    assert done["status"] == "completed"
    assert done["output"][0]["content"][0]["text"] == "Done after the restart."
    assert len(model.requests) == 1


async def test_a_background_response_whose_worker_died_mid_way_is_failed_not_run_again(
    settings: Settings, model: ScriptedModelServer
) -> None:
    async with running(settings, worker=False) as web:
        ada = await web.users.ensure("ada")
        responses = web.openai.responses
        run = await responses.start(
            ada, ResponseRequest(model="scripted-model", input="Work", background=True)
        )
        queued = await responses.background(run)
        # As its worker left it when it died: started, and never finished.
        await web.openai.objects.update(ada, "response", queued["id"], {"status": "in_progress"})
    async with running(settings, worker=True) as worker:
        failed = await _response(worker, "ada", queued["id"], "failed", "completed")
    assert failed["status"] == "failed"
    assert "stopped before it finished" in failed["error"]["message"]
    assert model.requests == []  # no turn (and no plugin call) of it ran twice


async def test_an_export_queued_before_a_restart_is_built_and_ready_after_it(
    settings: Settings,
) -> None:
    async with running(settings, worker=False) as web:
        ada = await web.users.ensure("ada")
        ticket = await web.exports.start(ada, mode="background")
        assert ticket.info.status == "building"
    async with running(settings, worker=True) as worker:
        ada = await worker.users.ensure("ada")
        with anyio.fail_after(30):
            while True:
                if (await worker.exports.get(ada, ticket.info.id)).status != "building":
                    break
                await anyio.sleep(0.05)
        secret = ticket.download_url.split("token=", 1)[1]
        download = await worker.exports.claim(ticket.info.id, secret)
    assert download.archive.startswith(b"PK")


async def test_workers_report_the_queue_depth_the_metrics_read(settings: Settings) -> None:
    async with running(settings, worker=False) as web:
        ada = await web.users.ensure("ada")
        assert await web.jobs.depth() == 0
        await web.exports.start(ada, mode="background")
        await web.exports.start(ada, mode="background")
        assert await web.jobs.depth() == 2
    async with running(settings, worker=True) as worker:
        with anyio.fail_after(30):
            # The worker's own periodic jobs come and go too: wait for an empty queue.
            while True:
                if await worker.jobs.depth() == 0:
                    break
                await anyio.sleep(0.05)


async def _queued_bytes(host: Host, backend: str, job_id: str) -> str:
    """What the queue holds of a job, as stored: its table row's payload, or arq's record."""
    if backend == "table":
        async with host.sessions() as session:
            payload = await session.scalar(select(Job.payload).where(Job.id == job_id))
        return repr(payload)
    redis = Redis.from_url(host.settings.redis_url or "")
    try:
        record = await redis.get(f"arq:job:{host.settings.jobs_queue_name}:{job_id}")
    finally:
        await redis.aclose()
    assert record is not None
    return record.decode()


async def test_an_export_queued_before_a_key_rotation_mails_its_link_once_the_old_key_is_gone(
    settings: Settings, backend: str
) -> None:
    old = settings.vault_keys.get_secret_value()
    new = vault_key().replace("test:", "new:", 1)
    with SmtpInbox() as inbox:
        mail: dict[str, Any] = {
            "smtp_host": "127.0.0.1",
            "smtp_port": inbox.port,
            "smtp_security": "none",
            "smtp_from": "powerstrip@example.org",
        }
        async with running(settings, worker=False, **mail) as web:
            ada = await web.users.ensure("ada")
            await web.data.update(ada, email="ada@example.com")
            ticket = await web.exports.start(ada, mode="background")
            queued = await _queued_bytes(web, backend, f"exports.build:{ticket.info.id}")
        secret = ticket.download_url.split("token=", 1)[1]
        # No secret in the queue, in the clear or sealed: nothing there for a rotation to miss.
        assert ticket.info.id in queued
        assert secret not in queued
        assert "v1." not in queued
        both = SecretStr(f"{new},{old}")
        async with running(settings, worker=False, vault_keys=both) as rotating:
            assert (await rotate_keys(rotating.sessions, rotating.vault)).rotated >= 1
        async with running(settings, worker=True, vault_keys=SecretStr(new), **mail) as worker:
            ada = await worker.users.ensure("ada")
            with anyio.fail_after(30):  # ends a hang; measures nothing
                while True:
                    info = await worker.exports.get(ada, ticket.info.id)
                    if info.mailed_to is not None:
                        break
                    await anyio.sleep(0.05)
            download = await worker.exports.claim(ticket.info.id, secret)
    assert (info.status, info.mailed_to, info.error) == ("ready", "ada@example.com", None)
    [(_, message)] = inbox.mails
    assert ticket.download_url in message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert download.archive.startswith(b"PK")
