"""Who may do what through the REST API, and what a refused request looks like."""

from __future__ import annotations

import pytest

from tests.server.conftest import Hosted

pytestmark = pytest.mark.anyio


async def test_requests_without_a_valid_token_are_refused(hosted: Hosted) -> None:
    async with hosted.client() as anonymous:
        answer = await anonymous.get("/api/plugins")
        assert answer.status_code == 401
        error = answer.json()["error"]
        assert error["type"] == "SignInRequiredError"
        assert "Authorization: Bearer" in error["fix"]
    async with hosted.client({"Authorization": "Bearer pst_not-a-real-token"}) as forged:
        assert (await forged.get("/api/me")).status_code == 401
    async with hosted.client({"Authorization": "Basic YWRhOnB3"}) as basic:
        assert (await basic.get("/api/me")).status_code == 401
    async with hosted.client() as anonymous:
        assert (await anonymous.get("/healthz")).json()["status"] == "ok"


async def test_another_user_s_conversation_is_not_found(hosted: Hosted) -> None:
    async with await hosted.user("alice") as alice, await hosted.user("bob") as bob:
        chat = (await alice.post("/api/conversations", json={"title": "mine"})).json()
        for method, path, body in (
            ("GET", f"/api/conversations/{chat['id']}", None),
            ("GET", f"/api/conversations/{chat['id']}/calls", None),
            ("POST", f"/api/conversations/{chat['id']}/messages", {"content": "hi"}),
            ("PATCH", f"/api/conversations/{chat['id']}", {"title": "taken"}),
            ("DELETE", f"/api/conversations/{chat['id']}", None),
            ("PUT", f"/api/conversations/{chat['id']}/plugins/1", None),
        ):
            answer = await bob.request(method, path, json=body)
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.json()["error"]["type"] == "NotFoundError"
        assert (await bob.get("/api/conversations")).json()["conversations"] == []
        mine = (await alice.get(f"/api/conversations/{chat['id']}")).json()
        assert mine["title"] == "mine"


async def test_a_turn_in_a_deleted_conversation_is_not_found(hosted: Hosted) -> None:
    # The owner check that runs before a turn's stream starts (messages and approvals).
    async with await hosted.user("alice") as alice:
        chat = (await alice.post("/api/conversations", json={"title": "gone"})).json()
        assert (await alice.delete(f"/api/conversations/{chat['id']}")).status_code == 204
        for path, body in (
            (f"/api/conversations/{chat['id']}/messages", {"content": "hi", "stream": False}),
            (f"/api/conversations/{chat['id']}/approvals", {"decisions": {}, "stream": False}),
        ):
            answer = await alice.post(path, json=body)
            assert answer.status_code == 404, (path, answer.text)
            assert answer.json()["error"]["type"] == "NotFoundError"


async def test_admin_actions_need_an_admin(hosted: Hosted) -> None:
    async with await hosted.user("ada") as ada:
        plugin_id = await hosted.add_plugin(ada, "plugin.example.com")
        for action in ("verified", "banned"):
            answer = await ada.post(f"/api/plugins/{plugin_id}/{action}", json={"value": True})
            assert answer.status_code == 403
            assert answer.json()["error"]["type"] == "AccessError"


async def test_a_refused_conversation_leaves_nothing_behind(hosted: Hosted) -> None:
    async with await hosted.user("ada") as ada:
        plugin_id = await hosted.add_plugin(ada, "plugin.example.com")
        # Not installed: enabling it is refused, and the conversation is not kept.
        answer = await ada.post("/api/conversations", json={"plugin_ids": [plugin_id]})
        assert answer.status_code == 409
        assert "not installed" in answer.json()["error"]["message"]
        assert (await ada.get("/api/conversations")).json()["conversations"] == []


async def test_malformed_requests_say_what_is_wrong(hosted: Hosted) -> None:
    async with await hosted.user("ada") as ada:
        chat = (await ada.post("/api/conversations", json={})).json()
        answer = await ada.post(f"/api/conversations/{chat['id']}/messages", json={"text": "hi"})
        assert answer.status_code == 422
        assert "body.content: Field required" in answer.json()["error"]["message"]
        answer = await ada.post(
            "/api/plugins", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert answer.status_code == 400
        assert "not valid JSON" in answer.json()["error"]["message"]
        answer = await ada.post("/api/plugins", json={"url": "https://nowhere.invalid"})
        assert answer.status_code == 502  # the plugin could not be reached
        assert "nowhere.invalid" in answer.json()["error"]["where"]
        assert (await ada.get("/api/plugins")).json()["plugins"] == []
        assert (await ada.get("/api/plugins/999/operations")).status_code == 404


async def test_a_sign_in_link_is_only_for_an_installed_oauth_plugin(hosted: Hosted) -> None:
    async with await hosted.user("ada") as ada:
        plugin_id = await hosted.add_plugin(ada, "plugin.example.com")
        answer = await ada.post(f"/api/plugins/{plugin_id}/sign-in")
        assert answer.status_code == 404
        await ada.post(f"/api/plugins/{plugin_id}/install")
        answer = await ada.post(f"/api/plugins/{plugin_id}/sign-in")
        assert answer.status_code == 409
        assert "nothing to sign in to" in answer.json()["error"]["message"]
