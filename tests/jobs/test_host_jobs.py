"""The host's jobs survive the process that queued them: a later worker runs them, once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from powerstrip.host import Host
from powerstrip.host.responses import ResponseRequest
from powerstrip.settings import Settings
from powerstrip.testing import Reply, ScriptedModelServer
from tests.jobs.backends import job_backends, redis_settings_for
from tests.server.conftest import vault_key

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
