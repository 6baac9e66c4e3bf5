"""Each auth scheme lets the right credential in and refuses a missing, wrong or foreign one."""

from __future__ import annotations

import ssl

import httpx
import pytest

from powerstrip.examples import ExampleConfig, issue_user_key
from tests.examples.conftest import SERVICE_KEY, ServeExample
from tests.examples.oauth_steps import exchange, sign_in

pytestmark = pytest.mark.anyio


def assert_refused(answer: httpx.Response, scheme: str) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"] == scheme
    assert answer.json()["error"]["code"] == "unauthorized"
    assert answer.json()["error"]["message"]


async def test_todo_none_needs_no_credential_and_names_lists_by_username(
    serve_example: ServeExample, config: ExampleConfig, tls: ssl.SSLContext
) -> None:
    server = serve_example("todo-none", config)
    async with httpx.AsyncClient(base_url=server.url, verify=tls) as client:
        added = await client.post("/todos/alice", json={"todo": "water plants"})
        assert added.status_code == 200, added.text
        assert (await client.get("/todos/alice")).json()["todos"] == [added.json()]
        assert (await client.get("/todos/bob")).json()["todos"] == []


async def test_todo_service_accepts_only_the_service_key(
    serve_example: ServeExample, config: ExampleConfig, tls: ssl.SSLContext
) -> None:
    server = serve_example("todo-service", config)
    async with httpx.AsyncClient(base_url=server.url, verify=tls) as client:
        ok = await client.get("/todos/alice", headers={"authorization": f"Bearer {SERVICE_KEY}"})
        assert ok.status_code == 200, ok.text
        assert_refused(await client.get("/todos/alice"), "Bearer")
        for header in ("Bearer wrong-key", f"Basic {SERVICE_KEY}", f"Bearer {SERVICE_KEY}x"):
            answer = await client.get("/todos/alice", headers={"authorization": header})
            assert_refused(answer, "Bearer")


async def test_todo_user_keys_reach_only_their_own_users_list(
    serve_example: ServeExample, config: ExampleConfig, tls: ssl.SSLContext
) -> None:
    server = serve_example("todo-user", config)
    alice = {"authorization": f"Bearer {issue_user_key(config, 'alice')}"}
    bob = {"authorization": f"Bearer {issue_user_key(config, 'bob')}"}
    async with httpx.AsyncClient(base_url=server.url, verify=tls) as client:
        added = await client.post("/todos", json={"todo": "alice's secret"}, headers=alice)
        assert added.status_code == 200, added.text
        todo_id = added.json()["id"]
        assert (await client.get("/todos", headers=bob)).json()["todos"] == []
        # Bob's key cannot touch Alice's todo, even knowing its id.
        stolen = await client.delete(f"/todos/{todo_id}", headers=bob)
        assert stolen.status_code == 404
        assert [t["id"] for t in (await client.get("/todos", headers=alice)).json()["todos"]] == [
            todo_id
        ]
        assert_refused(await client.get("/todos"), "Bearer")
        assert_refused(
            await client.get("/todos", headers={"authorization": "Bearer todo_unknown"}), "Bearer"
        )
        deleted = await client.delete(f"/todos/{todo_id}", headers=alice)
        assert deleted.status_code == 200
        assert deleted.json()["deleted"]["todo"] == "alice's secret"


async def test_todo_user_refuses_a_revoked_key(
    serve_example: ServeExample, config: ExampleConfig, tls: ssl.SSLContext
) -> None:
    from powerstrip.examples.todo.user_keys import UserKeys

    server = serve_example("todo-user", config)
    key = issue_user_key(config, "alice")
    assert UserKeys(config.database("todo-user")).revoke(key)
    async with httpx.AsyncClient(base_url=server.url, verify=tls) as client:
        assert_refused(
            await client.get("/todos", headers={"authorization": f"Bearer {key}"}), "Bearer"
        )


async def test_todo_oauth_tokens_reach_only_their_own_users_list(
    serve_example: ServeExample, config: ExampleConfig, tls: ssl.SSLContext
) -> None:
    server = serve_example("todo-oauth", config)
    async with httpx.AsyncClient(base_url=server.url, verify=tls) as client:
        tokens = {}
        for user in ("alice", "bob"):
            code = await sign_in(client, user, f"{user}-password")
            tokens[user] = {
                "authorization": f"Bearer {(await exchange(client, code)).json()['access_token']}"
            }
        added = await client.post("/todos", json={"todo": "alice only"}, headers=tokens["alice"])
        todo_id = added.json()["id"]
        assert (await client.get("/todos", headers=tokens["bob"])).json()["todos"] == []
        assert (await client.delete(f"/todos/{todo_id}", headers=tokens["bob"])).status_code == 404
        assert_refused(await client.get("/todos"), "Bearer")
        assert_refused(
            await client.get("/todos", headers={"authorization": "Basic YWxpY2U6eA=="}), "Bearer"
        )
