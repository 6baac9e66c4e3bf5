"""Todos, user keys and OAuth tokens survive a restart (the app built again on the same data)."""

from __future__ import annotations

import ssl

import httpx
import pytest

from powerstrip.examples import ExampleConfig, issue_user_key
from tests.examples.conftest import ServeExample
from tests.examples.oauth_steps import exchange, refresh, sign_in

pytestmark = pytest.mark.anyio


async def test_todo_none_keeps_its_todos(
    serve_example: ServeExample, config: ExampleConfig, tls: ssl.SSLContext
) -> None:
    first = serve_example("todo-none", config)
    async with httpx.AsyncClient(base_url=first.url, verify=tls) as client:
        await client.post("/todos/carol", json={"todo": "survive a restart"})
    second = serve_example("todo-none", config)
    async with httpx.AsyncClient(base_url=second.url, verify=tls) as client:
        listed = (await client.get("/todos/carol")).json()["todos"]
    assert [t["todo"] for t in listed] == ["survive a restart"]


async def test_todo_user_keeps_keys_and_todos(
    serve_example: ServeExample, config: ExampleConfig, tls: ssl.SSLContext
) -> None:
    key = {"authorization": f"Bearer {issue_user_key(config, 'alice')}"}
    first = serve_example("todo-user", config)
    async with httpx.AsyncClient(base_url=first.url, verify=tls) as client:
        await client.post("/todos", json={"todo": "kept"}, headers=key)
    second = serve_example("todo-user", config)
    async with httpx.AsyncClient(base_url=second.url, verify=tls) as client:
        listed = await client.get("/todos", headers=key)
    assert [t["todo"] for t in listed.json()["todos"]] == ["kept"]


async def test_todo_oauth_keeps_tokens_and_todos(
    serve_example: ServeExample, config: ExampleConfig, tls: ssl.SSLContext
) -> None:
    first = serve_example("todo-oauth", config)
    async with httpx.AsyncClient(base_url=first.url, verify=tls) as client:
        code = await sign_in(client, "alice", "alice-password")
        tokens = (await exchange(client, code)).json()
        auth = {"authorization": f"Bearer {tokens['access_token']}"}
        await client.post("/todos", json={"todo": "kept"}, headers=auth)
    second = serve_example("todo-oauth", config)
    async with httpx.AsyncClient(base_url=second.url, verify=tls) as client:
        listed = await client.get("/todos", headers=auth)
        assert [t["todo"] for t in listed.json()["todos"]] == ["kept"]
        assert (await refresh(client, tokens["refresh_token"])).status_code == 200
