"""Two `Host`s on one database and one Redis, standing in for two workers behind a balancer.

Each host has its own engine, caches and Redis connections, as a worker process would; they
share only the database and Redis. What one worker holds or counts, the other honours.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from powerstrip.coordination import build_coordination
from powerstrip.errors import SignInRequiredError
from powerstrip.host import Host, ResponseRequest, TooManyAttemptsError, ensure_user
from powerstrip.runtime import ErrorEvent, Event, TurnDone
from powerstrip.settings import Settings
from powerstrip.testing import Delay, Reply, ScriptedModelServer
from tests.coordination.conftest import LEASE
from tests.coordination.test_turn_locks import _holder
from tests.databases import backends, postgres_schema
from tests.redis_servers import fresh_prefix, redis_only, redis_url

pytestmark = pytest.mark.anyio


class Workers:
    """Two hosts sharing a database, a Redis key prefix and a scripted model."""

    def __init__(self, first: Host, second: Host, model: ScriptedModelServer, prefix: str):
        self.first, self.second, self.model, self.prefix = first, second, model, prefix


@asynccontextmanager
async def two_workers(database: str, tmp_path: Path) -> AsyncIterator[Workers]:
    async with _database_url(database, tmp_path) as url:
        with ScriptedModelServer() as model:
            settings = Settings(
                data_dir=tmp_path,
                database_url=url,
                redis_url=redis_url(),
                model_base_url=model.base_url,
                model_name="scripted-model",
            )
            prefix = fresh_prefix()

            def shared() -> Any:
                # The hosts' own leases are the default: a loaded test machine stalling a worker
                # past a short lease would let the other in, as it should. Only the killed
                # holder (a process of its own) has a short one.
                return build_coordination(settings, prefix=prefix)

            first = await Host.start(settings, coordination=shared())
            second = await Host.start(settings, coordination=shared(), migrate=False)
            try:
                yield Workers(first, second, model, prefix)
            finally:
                await first.aclose()
                await second.aclose()


@asynccontextmanager
async def _database_url(database: str, tmp_path: Path) -> AsyncIterator[str]:
    if database == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
        return
    async with postgres_schema() as url:
        yield url.render_as_string(hide_password=False)


async def _turn(host: Host, user: Any, chat_id: str, text: str) -> list[Event]:
    return [event async for event in host.chats.send(user, chat_id, text)]


def _done_text(events: list[Event]) -> str:
    assert not [e for e in events if isinstance(e, ErrorEvent)], events
    [done] = [e for e in events if isinstance(e, TurnDone)]
    return done.text


parametrize = pytest.mark.parametrize
on_both = [parametrize("database", backends()), parametrize("redis", redis_only())]


def both(test: Any) -> Any:
    for mark in on_both:
        test = mark(test)
    return test


@both
async def test_a_turn_lock_held_by_one_worker_holds_the_other_s_turn(
    database: str, redis: str, tmp_path: Path
) -> None:
    async with two_workers(database, tmp_path) as workers:
        user = await ensure_user(workers.first.sessions, "ada")
        chat = await workers.first.chats.create(user)
        workers.model.push(Reply("second worker's answer"))
        # The first worker holds the conversation's turn lock, as it does while a turn runs.
        async with workers.first.coordination.turn_locks.hold(chat.id):
            waiting = asyncio.create_task(_turn(workers.second, user, chat.id, "hello"))
            await asyncio.sleep(0.5)
            assert not waiting.done()
            assert workers.model.requests == []  # the second worker has not started its turn
        assert _done_text(await waiting) == "second worker's answer"


@both
async def test_turns_sent_to_both_workers_at_once_run_one_after_another(
    database: str, redis: str, tmp_path: Path
) -> None:
    async with two_workers(database, tmp_path) as workers:
        user = await ensure_user(workers.first.sessions, "ada")
        chat = await workers.first.chats.create(user)
        rounds = 4
        # Each answer is slow enough for the other worker's turn to try to run alongside it.
        workers.model.push(*(Delay(0.1, Reply(f"answer {n}")) for n in range(2 * rounds)))
        hosts = [workers.first, workers.second] * rounds
        results = await asyncio.gather(
            *(_turn(host, user, chat.id, f"message {n}") for n, host in enumerate(hosts))
        )
        assert sorted(_done_text(events) for events in results) == sorted(
            f"answer {n}" for n in range(2 * rounds)
        )
        view = await workers.second.chats.get(user, chat.id)
        roles = [message.role for message in view.messages]
        assert roles == ["user", "assistant"] * (2 * rounds)  # never two turns interleaved
        # Each model request saw the whole history before it: one more exchange each time.
        lengths = sorted(len(request["messages"]) for request in workers.model.requests)
        assert lengths == [lengths[0] + 2 * n for n in range(2 * rounds)]


@both
async def test_a_killed_workers_turn_lock_expires_and_the_next_turn_runs(
    database: str, redis: str, tmp_path: Path
) -> None:
    async with two_workers(database, tmp_path) as workers:
        user = await ensure_user(workers.first.sessions, "ada")
        chat = await workers.first.chats.create(user)
        # A worker process takes the conversation's lock (as its turn would) and is killed.
        child = _holder(workers.prefix, str(tmp_path), lease=LEASE, hold=3600, key=chat.id)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert child.stdout is not None
        child.stdout.close()
        workers.model.push(Reply("after the lease ran out"))
        async with asyncio.timeout(60):
            events = await _turn(workers.second, user, chat.id, "anyone there?")
        assert _done_text(events) == "after the lease ran out"


@both
async def test_failed_sign_ins_on_both_workers_count_together(
    database: str, redis: str, tmp_path: Path
) -> None:
    async with two_workers(database, tmp_path) as workers:
        await workers.first.accounts.sign_up("grace", "correct horse battery")
        for attempt in range(5):
            host = workers.first if attempt % 2 else workers.second
            with pytest.raises(SignInRequiredError):
                await host.accounts.sign_in("grace", "wrong password!", client="203.0.113.7")
        for host in (workers.first, workers.second):
            with pytest.raises(TooManyAttemptsError):
                await host.accounts.sign_in("grace", "correct horse battery", client="203.0.113.8")


@both
async def test_a_background_response_is_followed_and_cancelled_from_the_other_worker(
    database: str, redis: str, tmp_path: Path
) -> None:
    async with two_workers(database, tmp_path) as workers:
        user = await ensure_user(workers.first.sessions, "ada")
        await workers.first.jobs.start()  # the first worker runs the background jobs
        runner, other = workers.first.openai.responses, workers.second.openai.responses
        workers.model.push(Delay(0.3, Reply("made on the first worker")))
        request = ResponseRequest(model="scripted-model", input="hi", background=True)
        queued = await runner.background(await runner.start(user, request))
        events = [e async for e in await other.follow(user, queued["id"])]
        kinds = [event["type"] for event in events]
        assert kinds[:2] == ["response.created", "response.in_progress"]
        assert kinds[-1] == "response.completed"
        numbers = [event["sequence_number"] for event in events]
        assert numbers == list(range(len(events)))
        # Resumed part-way, from the other worker: only what came after.
        later = [e async for e in await other.follow(user, queued["id"], starting_after=2)]
        assert later == events[3:]

        workers.model.push(Delay(60, Reply("never")))
        slow = await runner.background(await runner.start(user, request))
        follower = await other.follow(user, slow["id"])
        assert (await anext(follower))["type"] == "response.created"
        cancelled = await other.cancel(user, slow["id"])
        assert cancelled["status"] == "cancelled"
        async with asyncio.timeout(30):
            async for _ in follower:
                pass  # ends: the first worker's run was cancelled and its log finished
        assert (await runner.get(user, slow["id"]))["status"] == "cancelled"


@both
async def test_an_assistants_run_is_cancelled_from_the_other_worker(
    database: str, redis: str, tmp_path: Path
) -> None:
    async with two_workers(database, tmp_path) as workers:
        user = await ensure_user(workers.first.sessions, "ada")
        await workers.first.jobs.start()  # the first worker runs the background jobs
        runner, other = workers.first.openai.assistants, workers.second.openai.assistants
        assistant = await runner.create_assistant(user, {"model": "scripted-model"})
        thread = await runner.create_thread(user, messages=[{"role": "user", "content": "hi"}])
        workers.model.push(Delay(60, Reply("never")))
        run = await runner.create_run(user, thread["id"], {"assistant_id": assistant["id"]})
        await runner.start(user, run)
        async with asyncio.timeout(30):
            while (await other.run(user, thread["id"], run["id"]))["status"] == "queued":  # noqa: ASYNC110 - polls another worker's store
                await asyncio.sleep(0.05)
            cancelled = await other.cancel(user, thread["id"], run["id"])
            assert cancelled["status"] == "cancelled"
            # The first worker's job ends, cancelled, long before the model's 60 s would
            # have passed: not left waiting on it.
            while await workers.first.jobs.depth():  # noqa: ASYNC110 - polls the job queue
                await asyncio.sleep(0.05)
        assert (await runner.run(user, thread["id"], run["id"]))["status"] == "cancelled"
