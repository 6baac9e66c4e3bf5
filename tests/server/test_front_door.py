"""The host services behind the REST API: token scopes, token management, and one answer for
an object that is not there for you."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from powerstrip.testing import CallTool, Reply
from tests import secret_watch
from tests.server.conftest import Hosted

pytestmark = pytest.mark.anyio


async def _issue(hosted: Hosted, api: httpx.AsyncClient, **body: Any) -> httpx.Response:
    """Issue a token through the API: the one answer allowed to carry a token's text."""
    answer = await api.post("/api/tokens", json=body)
    if answer.status_code == 201:
        secret_watch.watch(answer.json()["token"])
        hosted.answers.remove(answer.text)
    return answer


async def test_a_token_does_only_what_its_scopes_allow(hosted: Hosted) -> None:
    async with await hosted.user("ada") as ada:
        issued = await _issue(hosted, ada, name="files only", scopes=["files"])
        assert issued.status_code == 201, issued.text
        token = issued.json()["token"]
        assert issued.json()["scopes"] == ["files"]
        async with hosted.client({"Authorization": f"Bearer {token}"}) as narrow:
            me = (await narrow.get("/api/me")).json()
            assert me["username"] == "ada"
            assert me["scopes"] == ["files"]
            for path in ("/api/conversations", "/api/plugins"):
                refused = await narrow.get(path)
                assert refused.status_code == 403, refused.text
                assert "'chat' scope" in refused.json()["error"]["message"]
            # A narrow token cannot mint a wider one.
            wider = await _issue(hosted, narrow, scopes=["chat"])
            assert wider.status_code == 403
        # Only an admin's token may carry the admin scope; unknown scopes are named.
        admin = await _issue(hosted, ada, scopes=["admin"])
        assert admin.status_code == 403
        unknown = await _issue(hosted, ada, scopes=["everything"])
        assert unknown.status_code == 422
        assert "'everything'" in unknown.json()["error"]["message"]


async def test_an_admin_token_without_the_admin_scope_cannot_review(hosted: Hosted) -> None:
    async with await hosted.user("root", admin=True) as root:
        plugin_id = await hosted.add_plugin(root, "plugin.example.com")
        token = (await _issue(hosted, root, scopes=["chat"])).json()["token"]
        async with hosted.client({"Authorization": f"Bearer {token}"}) as chat_only:
            answer = await chat_only.post(f"/api/plugins/{plugin_id}/banned", json={"value": True})
            assert answer.status_code == 403
        assert (await root.get(f"/api/plugins/{plugin_id}")).json()["banned"] is False


async def test_tokens_are_listed_without_their_text_and_revoked_by_their_owner(
    hosted: Hosted,
) -> None:
    async with await hosted.user("ada") as ada, await hosted.user("bob") as bob:
        issued = (await _issue(hosted, ada, name="laptop")).json()
        listed = await ada.get("/api/tokens")
        assert issued["token"] not in listed.text
        names = [token["name"] for token in listed.json()["tokens"]]
        assert names[0] == "laptop"  # newest first
        # Another user's token id is not found, and stays usable.
        assert (await bob.delete(f"/api/tokens/{issued['id']}")).status_code == 404
        async with hosted.client({"Authorization": f"Bearer {issued['token']}"}) as laptop:
            assert (await laptop.get("/api/me")).status_code == 200
            assert (await ada.delete(f"/api/tokens/{issued['id']}")).status_code == 204
            assert (await laptop.get("/api/me")).status_code == 401


async def test_a_banned_plugin_is_not_found_for_users_and_shown_to_admins(
    hosted: Hosted,
) -> None:
    async with await hosted.user("root", admin=True) as root, await hosted.user("bob") as bob:
        plugin_id = await hosted.add_plugin(root, "plugin.example.com")
        assert (await bob.get(f"/api/plugins/{plugin_id}")).json()["id"] == plugin_id
        await root.post(f"/api/plugins/{plugin_id}/banned", json={"value": True})
        banned = await bob.get(f"/api/plugins/{plugin_id}")
        missing = await bob.get("/api/plugins/999")
        assert banned.status_code == missing.status_code == 404
        # The same words for both, but for the id: nothing tells a banned id from an unused one.
        assert banned.json()["error"]["message"].replace(str(plugin_id), "N") == missing.json()[
            "error"
        ]["message"].replace("999", "N")
        for path in ("install", "refresh", "operations"):
            method = "GET" if path == "operations" else "POST"
            answer = await bob.request(method, f"/api/plugins/{plugin_id}/{path}")
            assert answer.status_code == 404, (path, answer.text)
        assert (await root.get(f"/api/plugins/{plugin_id}")).json()["banned"] is True
        assert (await bob.get("/api/plugins")).json()["plugins"] == []


async def test_every_rest_route_declares_what_it_answers(hosted: Hosted) -> None:
    async with hosted.client() as anonymous:
        schema = (await anonymous.get("/openapi.json")).json()
    missing = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            ok = operation["responses"].get("200") or operation["responses"].get("201")
            if ok is None:
                continue  # 204 and event streams have no JSON body
            content = ok.get("content", {})
            json_schema = content.get("application/json", {}).get("schema", {})
            if not json_schema and "text/event-stream" not in content:
                missing.append(f"{method.upper()} {path}")
    assert missing == []


async def test_every_record_of_a_call_names_its_request_and_call(
    hosted: Hosted, caplog: pytest.LogCaptureFixture
) -> None:
    async with await hosted.user("ada") as ada:
        plugin_id = await hosted.add_plugin(ada, "plugin.example.com")
        await ada.post(f"/api/plugins/{plugin_id}/install")
        chat = (await ada.post("/api/conversations", json={"plugin_ids": [plugin_id]})).json()
        hosted.model.push(
            CallTool("todo__list_todos", {"username": "ada"}, id="call-log-1"), Reply("None.")
        )
        paused = await ada.post(
            f"/api/conversations/{chat['id']}/messages",
            json={"content": "what is on my list", "stream": False},
        )
        assert paused.json()["paused"] is True, paused.text
        with caplog.at_level(logging.INFO, logger="powerstrip"):
            answer = await ada.post(
                f"/api/conversations/{chat['id']}/approvals",
                json={"decisions": {"call-log-1": True}, "stream": False},
                headers={"X-Request-ID": "req-abc-123"},
            )
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-request-id"] == "req-abc-123"
        fetches = [r.getMessage() for r in caplog.records if "/todos/ada" in r.getMessage()]
        assert fetches, [r.getMessage() for r in caplog.records]
        for message in fetches:
            assert "request=req-abc-123" in message
            assert "call=call-log-1" in message
        # An id that is not a short plain token is replaced, never echoed.
        odd = await ada.get("/api/me", headers={"X-Request-ID": "bad id\twith spaces"})
        assert odd.headers["x-request-id"] != "bad id\twith spaces"
        assert len(odd.headers["x-request-id"]) == 16
