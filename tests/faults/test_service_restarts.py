"""PostgreSQL and Redis restarted under a running host: while they are down, requests fail
with a clear 503 and `/readyz` names what is down; once they are back, everything works again
and no turn that was answered as complete is missing from the store."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.databases import postgres_schema
from tests.faults.store_view import conversation_state
from tests.server.local_host import LocalHost, local_host
from tests.services import postgres_ctl, redis_ctl, redis_url_for_tests

# Restarting the test servers would fail whatever other tests use them at that moment, so
# `make pytest` runs these on their own, after the rest (`-m restarts_services`).
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.network,
    pytest.mark.restarts_services,
    pytest.mark.timeout(300),
]

USERS = 4


async def _ctl(script: str, action: str) -> None:
    await anyio.to_thread.run_sync(
        lambda: subprocess.run([script, action], check=True, capture_output=True)  # noqa: S603
    )


async def _until_ready(client: httpx.AsyncClient) -> None:
    """Poll /readyz until 200; bounds a hang (a minute), measures nothing."""
    for _ in range(300):
        answer = await client.get("/readyz")
        if answer.status_code == 200:
            return
        await anyio.sleep(0.2)
    raise AssertionError(f"never ready again: {answer.text}")


async def _load(
    api: httpx.AsyncClient, chat_id: str, name: str, stop: anyio.Event, log: list[Any]
) -> None:
    """Turns one after another until `stop`: (text sent, status, body) for each."""
    number = 0
    while not stop.is_set():
        number += 1
        text = f"turn {name}-{number}"
        try:
            answer = await api.post(
                f"/api/conversations/{chat_id}/messages", json={"content": text, "stream": False}
            )
        except httpx.TransportError as exc:  # pragma: no cover - reported by the assert below
            log.append((text, None, repr(exc)))
            continue
        log.append((text, answer.status_code, answer.json()))
        await anyio.sleep(0.02)


async def test_a_postgresql_restart_under_load_fails_clearly_and_loses_nothing(
    tmp_path: Path,
) -> None:
    ctl = postgres_ctl()
    async with postgres_schema() as url:
        database_url = url.render_as_string(hide_password=False)
        async with local_host(tmp_path, database_url=database_url) as local:
            await _restart_under_load(local, ctl, database_url)


async def _restart_under_load(local: LocalHost, ctl: str, database_url: str) -> None:
    apis = [await local.user(f"user{n}") for n in range(USERS)]
    chats = []
    for api in apis:
        made = await api.post("/api/conversations", json={})
        assert made.status_code in (200, 201), made.text
        chats.append(made.json()["id"])
    logs: list[list[Any]] = [[] for _ in apis]
    stop = anyio.Event()
    async with local.client() as probe, anyio.create_task_group() as load:
        for n, api in enumerate(apis):
            load.start_soon(_load, api, chats[n], str(n), stop, logs[n])
        await anyio.sleep(1)
        await _ctl(ctl, "stop")
        ready = await probe.get("/readyz")
        listed = await apis[0].get("/api/conversations")
        health = await probe.get("/healthz")
        await anyio.sleep(1)
        await _ctl(ctl, "start")
        await _until_ready(probe)
        await anyio.sleep(1)
        stop.set()
    # Down: not ready, naming the database; requests refused with a clear 503; still alive.
    assert ready.status_code == 503
    assert ready.json()["failed"] == ["database", "migrations"]
    assert listed.status_code == 503
    assert "database" in listed.json()["error"]["message"]
    assert health.status_code == 200
    # Under load: every answer is a success, a 503, or a turn that ended with an error event.
    for n, log in enumerate(logs):
        complete = []
        for text, status, body in log:
            assert status in (200, 503), (text, status, body)
            if status == 503:
                assert "database" in body["error"]["message"]
                continue
            errors = [e for e in body["events"] if e["type"] == "error"]
            if errors:
                assert "database" in errors[0]["message"] or "store" in errors[0]["message"]
            else:
                complete.append(text)
        # Back: the conversation works, and every turn answered as complete is in the store.
        after = await apis[n].post(
            f"/api/conversations/{chats[n]}/messages",
            json={"content": f"after {n}", "stream": False},
        )
        assert after.status_code == 200, after.text
        assert not [e for e in after.json()["events"] if e["type"] == "error"]
        state = await asyncio.to_thread(conversation_state, database_url, chats[n])
        stored = [m.content for m in state.messages if m.role == "user"]
        assert set(complete) <= set(stored), set(complete) - set(stored)
        assert state.seqs == list(range(1, len(state.seqs) + 1))
        assert state.open_calls == []
        assert complete, log  # the load did run turns
    for api in apis:
        await api.aclose()


async def test_a_redis_restart_shows_in_readiness_and_recovers(tmp_path: Path) -> None:
    url, ctl = redis_url_for_tests(), redis_ctl()
    async with local_host(tmp_path, redis_url=url) as local, local.client() as probe:
        before = await probe.get("/readyz")
        await _ctl(ctl, "stop")
        try:
            down = await probe.get("/readyz")
            health = await probe.get("/healthz")
        finally:
            await _ctl(ctl, "start")
        await _until_ready(probe)
    assert before.status_code == 200, before.text
    assert down.status_code == 503
    assert down.json()["failed"] == ["redis"]
    assert down.json()["checks"]["database"]["ok"] is True
    assert health.status_code == 200
