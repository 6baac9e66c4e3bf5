"""Property: with many users and plugins, no call ever carries another user's credential.

Four users install the per-user plugins (todo-user with their own key, todo-oauth signed in at
the provider as themselves) and add a marker todo through each. Hypothesis then plays random
sequences of turns by random users against random plugins; after every call the plugin must
have received exactly the caller's credential, and the model must have read back only the
caller's own list.
"""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from powerstrip.examples import issue_user_key
from powerstrip.testing import CallTool, Reply
from tests.server.conftest import Hosted
from tests.tool_results import unwrap

pytestmark = pytest.mark.anyio

USERS = ("alice", "bob")  # the example provider's demo users
PLUGINS = ("www.example.com", "example.com")  # todo-user, todo-oauth


async def test_no_call_carries_another_user_s_credential(hosted: Hosted) -> None:
    async with (
        await hosted.user("admin", admin=True) as admin,
        await hosted.user("dev") as developer,
    ):
        user_plugin = await hosted.add_plugin(admin, "www.example.com")
        await admin.post(f"/api/plugins/{user_plugin}/verified", json={"value": True})
        oauth_plugin = await hosted.add_registered(developer, admin, "example.com")
    plugin_ids = {"www.example.com": user_plugin, "example.com": oauth_plugin}
    keys = {u: issue_user_key(hosted.configs["www.example.com"], u) for u in USERS}
    tokens: dict[str, httpx.AsyncClient] = {}
    chats: dict[tuple[str, str], str] = {}
    for username in USERS:
        api = await hosted.user(username)
        tokens[username] = api
        await api.post(f"/api/plugins/{user_plugin}/install", json={"user_key": keys[username]})
        installed = await api.post(f"/api/plugins/{oauth_plugin}/install")
        page = await hosted.browser_sign_in(installed.json()["sign_in_url"], username)
        assert page.status_code == 200, page.text
        for host, plugin_id in plugin_ids.items():
            chat = await api.post("/api/conversations", json={"plugin_ids": [plugin_id]})
            chat_id = chat.json()["id"]
            chats[username, host] = chat_id
            namespace = "todo_user" if host == "www.example.com" else "todo_oauth"
            call_id = f"marker-{username}-{plugin_id}"
            hosted.model.push(
                CallTool(f"{namespace}__add_todo", {"todo": f"marker of {username}"}, id=call_id),
                Reply("Added."),
            )
            await api.post(
                f"/api/conversations/{chat_id}/messages", json={"content": "add", "stream": False}
            )
            # "Always allow" listing, so the property's turns run without approvals.
            hosted.model.push(CallTool(f"{namespace}__list_todos", {}, id=f"l-{call_id}"))
            hosted.model.push(Reply("Listed."))
            await api.post(
                f"/api/conversations/{chat_id}/approvals",
                json={"decisions": {call_id: True}, "stream": False},
            )
            await api.post(
                f"/api/conversations/{chat_id}/messages", json={"content": "list", "stream": False}
            )
            await api.post(
                f"/api/conversations/{chat_id}/approvals",
                json={
                    "decisions": {f"l-{call_id}": True},
                    "always_allow": [f"l-{call_id}"],
                    "stream": False,
                },
            )
    oauth_tokens: dict[str, str] = {}

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(st.tuples(st.sampled_from(USERS), st.sampled_from(PLUGINS)), max_size=5))
    def turns(sequence: list[tuple[str, str]]) -> None:
        for username, host in sequence:
            namespace = "todo_user" if host == "www.example.com" else "todo_oauth"
            hosted.model.push(CallTool(f"{namespace}__list_todos", {}), Reply("Listed."))
            with httpx.Client(
                base_url=hosted.server.url, verify=hosted.tls, headers=tokens[username].headers
            ) as api:
                answer = api.post(
                    f"/api/conversations/{chats[username, host]}/messages",
                    json={"content": "list", "stream": False},
                )
            assert answer.json()["text"] == "Listed.", answer.text
            received = hosted.recorders[host].api_calls()[-1]
            credential = received.headers["authorization"]
            if host == "www.example.com":
                assert credential == f"Bearer {keys[username]}"
            else:
                assert oauth_tokens.setdefault(username, credential) == credential
                others = {v for k, v in oauth_tokens.items() if k != username}
                assert credential not in others
            listed = json.loads(unwrap(hosted.model.requests[-1]["messages"][-1]["content"]))
            assert [todo["todo"] for todo in listed["todos"]] == [f"marker of {username}"]

    try:
        turns()
    finally:
        for api in tokens.values():
            await api.aclose()
