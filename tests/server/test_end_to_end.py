"""End to end on loopback: install each example plugin through the REST API, chat with the
scripted model, and check what each plugin received and what the call log holds."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from powerstrip.examples import issue_user_key
from powerstrip.host import Host, find_user
from powerstrip.runtime import ErrorEvent, Event, TurnDone
from powerstrip.testing import CallTool, Reply, Respond
from tests.examples.conftest import SERVICE_KEY
from tests.server.conftest import Hosted, sse_events
from tests.tool_results import unwrap

pytestmark = pytest.mark.anyio


async def _operations(api: object, plugin_id: int) -> dict[str, str]:
    answer = await api.get(f"/api/plugins/{plugin_id}/operations")  # type: ignore[attr-defined]
    assert answer.status_code == 200, answer.text
    return {op["operation_id"]: op["function_name"] for op in answer.json()["operations"]}


async def test_todo_none_add_pauses_for_approval_then_calls_the_plugin(hosted: Hosted) -> None:
    async with await hosted.user("ada", admin=True) as api:
        plugin_id = await hosted.add_plugin(api, "plugin.example.com")
        installed = await api.post(f"/api/plugins/{plugin_id}/install")
        assert installed.status_code == 200, installed.text
        ops = await _operations(api, plugin_id)
        chat = (await api.post("/api/conversations", json={"plugin_ids": [plugin_id]})).json()
        hosted.model.push(
            CallTool(ops["add_todo"], {"username": "ada", "todo": "buy milk"}, id="call-1"),
            Reply("Added buy milk."),
        )
        first = await api.post(
            f"/api/conversations/{chat['id']}/messages", json={"content": "add buy milk"}
        )
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("text/event-stream")
        events = sse_events(first.text)
        assert [e["type"] for e in events] == ["approval_needed", "turn_done"]
        assert events[0]["approval_id"] == "call-1"
        assert events[0]["can_always_allow"] is True
        assert events[-1]["paused"] is True
        assert hosted.recorders["plugin.example.com"].api_calls() == []
        # The waiting call, read back, offers the same choice as the event did.
        view = (await api.get(f"/api/conversations/{chat['id']}")).json()
        assert view["pending_approvals"][0]["can_always_allow"] is True

        second = await api.post(
            f"/api/conversations/{chat['id']}/approvals",
            json={"decisions": {"call-1": True}, "stream": False},
        )
        assert second.status_code == 200, second.text
        body = second.json()
        assert body["text"] == "Added buy milk."
        assert [e["type"] for e in body["events"]][:2] == ["call_started", "call_finished"]

    [received] = hosted.recorders["plugin.example.com"].api_calls()
    assert (received.method, received.path) == ("POST", "/todos/ada")
    assert json.loads(received.body) == {"todo": "buy milk"}
    assert received.headers["openai-conversation-id"] == chat["id"]
    assert len(received.headers["openai-ephemeral-user-id"]) == 32
    assert "authorization" not in received.headers


async def _todo_chat(hosted: Hosted, api: object) -> tuple[str, dict[str, str]]:
    """A conversation of the caller's with the todo-none example installed and enabled, and
    that plugin's function names by operation id."""
    plugin_id = await hosted.add_plugin(api, "plugin.example.com")
    await api.post(f"/api/plugins/{plugin_id}/install")  # type: ignore[attr-defined]
    return await _chat(api, plugin_id), await _operations(api, plugin_id)


async def _chat(api: object, plugin_id: int) -> str:
    answer = await api.post("/api/conversations", json={"plugin_ids": [plugin_id]})  # type: ignore[attr-defined]
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def _say(api: object, chat_id: str, text: str) -> dict[str, object]:
    answer = await api.post(  # type: ignore[attr-defined]
        f"/api/conversations/{chat_id}/messages", json={"content": text, "stream": False}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


async def _approve(
    api: object, chat_id: str, call_id: str, *, always: bool = False, yes: bool = True
) -> dict[str, object]:
    answer = await api.post(  # type: ignore[attr-defined]
        f"/api/conversations/{chat_id}/approvals",
        json={
            "decisions": {call_id: yes},
            "always_allow": [call_id] if always else [],
            "stream": False,
        },
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


async def test_todo_service_calls_carry_the_developer_s_service_key(hosted: Hosted) -> None:
    async with (
        await hosted.user("admin", admin=True) as admin,
        await hosted.user("dev") as developer,
        await hosted.user("ada") as ada,
    ):
        plugin_id = await hosted.add_registered(developer, admin, "api.example.com")
        assert (await ada.post(f"/api/plugins/{plugin_id}/install")).status_code == 200
        ops = await _operations(ada, plugin_id)
        chat_id = await _chat(ada, plugin_id)
        hosted.model.push(
            CallTool(ops["list_todos"], {"username": "ada"}, id="list-1"),
            Reply("Your list is empty."),
        )
        paused = await _say(ada, chat_id, "what is on my list?")
        assert paused["paused"] is True
        body = await _approve(ada, chat_id, "list-1", always=True)
        assert body["text"] == "Your list is empty."
        calls = (await ada.get(f"/api/conversations/{chat_id}/calls")).json()["calls"]
        # "Always allow" holds: the next list call is made without asking.
        hosted.model.push(
            CallTool(ops["list_todos"], {"username": "ada"}, id="list-2"), Reply("Still empty.")
        )
        assert (await _say(ada, chat_id, "and now?"))["text"] == "Still empty."
        [grant] = (await ada.get("/api/grants")).json()["grants"]
        assert (grant["operation_id"], grant["plugin_id"]) == ("list_todos", plugin_id)
        assert (await ada.delete(f"/api/grants/{grant['id']}")).status_code == 204
        hosted.model.push(
            CallTool(ops["list_todos"], {"username": "ada"}, id="list-3"), Reply("unused")
        )
        assert (await _say(ada, chat_id, "once more"))["paused"] is True

    received = hosted.recorders["api.example.com"].api_calls()
    assert [(r.method, r.path) for r in received] == [("GET", "/todos/ada")] * 2
    assert {r.headers["authorization"] for r in received} == {f"Bearer {SERVICE_KEY}"}
    [call] = calls
    assert (call["outcome"], call["status_code"], call["method"]) == ("ok", 200, "GET")
    assert call["function_name"] == ops["list_todos"]
    assert SERVICE_KEY not in json.dumps(call)
    # The model was told what the plugin answered.
    tool_message = hosted.model.requests[1]["messages"][-1]
    assert tool_message["role"] == "tool"
    assert json.loads(unwrap(tool_message["content"])) == {"todos": []}


async def test_todo_user_each_user_s_own_key_reaches_only_their_list(hosted: Hosted) -> None:
    config = hosted.configs["www.example.com"]
    keys = {name: issue_user_key(config, name) for name in ("alice", "bob")}
    async with (
        await hosted.user("admin", admin=True) as admin,
        await hosted.user("alice") as alice,
        await hosted.user("bob") as bob,
    ):
        plugin_id = await hosted.add_plugin(admin, "www.example.com")
        refused = await alice.post(f"/api/plugins/{plugin_id}/install")
        assert refused.status_code == 409
        assert "needs your own key" in refused.json()["error"]["message"]
        for api, name in ((alice, "alice"), (bob, "bob")):
            answer = await api.post(
                f"/api/plugins/{plugin_id}/install", json={"user_key": keys[name]}
            )
            assert answer.status_code == 200, answer.text
        ops = await _operations(alice, plugin_id)
        for api, name in ((alice, "alice"), (bob, "bob")):
            chat_id = await _chat(api, plugin_id)
            hosted.model.push(
                CallTool(ops["add_todo"], {"todo": f"{name}'s task"}, id=f"add-{name}"),
                Reply("Added."),
            )
            await _say(api, chat_id, "add a task")
            decided = await api.post(
                f"/api/conversations/{chat_id}/approvals",
                json={"decisions": {f"add-{name}": True}, "stream": False},
            )
            assert decided.json()["text"] == "Added."

    received = hosted.recorders["www.example.com"].api_calls()
    assert [(r.method, r.path) for r in received] == [("POST", "/todos"), ("POST", "/todos")]
    assert [r.headers["authorization"] for r in received] == [
        f"Bearer {keys['alice']}",
        f"Bearer {keys['bob']}",
    ]
    assert (
        received[0].headers["openai-ephemeral-user-id"]
        != (received[1].headers["openai-ephemeral-user-id"])
    )


async def test_todo_oauth_signs_in_through_the_provider_and_calls_with_the_user_s_token(
    hosted: Hosted,
) -> None:
    async with (
        await hosted.user("admin", admin=True) as admin,
        await hosted.user("dev") as developer,
        await hosted.user("alice") as alice,
    ):
        plugin_id = await hosted.add_registered(developer, admin, "example.com")
        installed = await alice.post(f"/api/plugins/{plugin_id}/install")
        assert installed.status_code == 200, installed.text
        sign_in_url = installed.json()["sign_in_url"]
        assert sign_in_url.startswith(f"https://host.example.org/aip/{plugin_id}/oauth/begin")
        async with hosted.client() as browser:
            confirm = await browser.get(hosted._local(sign_in_url))
        # The page names the Powerstrip account, the plugin and the provider before going on.
        assert "<b>alice</b>" in confirm.text
        assert "<b>example.com</b>" in confirm.text
        assert confirm.headers["x-frame-options"] == "DENY"
        page = await hosted.browser_sign_in(sign_in_url, "alice")
        assert page.status_code == 200, page.text
        assert "Signed in" in page.text
        async with hosted.client() as browser:
            replay = await browser.get(hosted._local(sign_in_url))
        assert replay.status_code == 400
        assert "already used" in replay.text
        ops = await _operations(alice, plugin_id)
        chat_id = await _chat(alice, plugin_id)
        hosted.model.push(CallTool(ops["list_todos"], {}, id="list-1"), Reply("Nothing yet."))
        await _say(alice, chat_id, "my todos?")
        assert (await _approve(alice, chat_id, "list-1"))["text"] == "Nothing yet."

    [received] = hosted.recorders["example.com"].api_calls()
    assert (received.method, received.path) == ("GET", "/todos")
    scheme, _, token = received.headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    assert token
    # Sealed at rest (the suite-wide scan searches the SQLite files' bytes for it too).
    if hosted.db_path.exists():
        assert token.encode() not in hosted.db_path.read_bytes()


async def test_a_replayed_callback_in_another_browser_is_refused(hosted: Hosted) -> None:
    async with (
        await hosted.user("admin", admin=True) as admin,
        await hosted.user("dev") as developer,
        await hosted.user("alice") as alice,
    ):
        plugin_id = await hosted.add_registered(developer, admin, "example.com")
        sign_in_url = (await alice.post(f"/api/plugins/{plugin_id}/install")).json()["sign_in_url"]
        forged = sign_in_url.replace("ticket=", "ticket=x")
        async with hosted.client() as browser:
            page = await browser.get(hosted._local(forged))
            assert page.status_code == 400
            assert "not valid" in page.text
            # A callback without the browser session cookie is refused.
            page = await browser.get(
                f"/aip/{plugin_id}/oauth/callback", params={"code": "c", "state": "s"}
            )
            assert page.status_code == 400
            assert "did not start the sign-in" in page.text


async def test_a_consequential_operation_cannot_be_always_allowed(hosted: Hosted) -> None:
    async with await hosted.user("ada") as api:
        chat_id, ops = await _todo_chat(hosted, api)
        hosted.model.push(CallTool(ops["delete_todo"], {"username": "ada", "todo_id": 1}, id="d1"))
        assert (await _say(api, chat_id, "delete my first todo"))["paused"] is True
        answer = await api.post(
            f"/api/conversations/{chat_id}/approvals",
            json={"decisions": {"d1": True}, "always_allow": ["d1"]},
        )
        assert answer.status_code == 200
        events = sse_events(answer.text)
        assert [e["type"] for e in events] == ["error", "turn_done"]
        assert "cannot be always allowed" in events[0]["message"]
        # Nothing was called or granted, and the call still waits for a plain decision.
        assert hosted.recorders["plugin.example.com"].api_calls() == []
        assert (await api.get("/api/grants")).json()["grants"] == []
        view = (await api.get(f"/api/conversations/{chat_id}")).json()
        assert [p["call_id"] for p in view["pending_approvals"]] == ["d1"]
        assert view["pending_approvals"][0]["can_always_allow"] is False


async def test_the_model_sees_the_tools_of_every_enabled_plugin(hosted: Hosted) -> None:
    async with await hosted.user("admin", admin=True) as admin, await hosted.user("dev") as dev:
        none_id = await hosted.add_plugin(admin, "plugin.example.com")
        service_id = await hosted.add_registered(dev, admin, "api.example.com")
        for plugin_id in (none_id, service_id):
            assert (await admin.post(f"/api/plugins/{plugin_id}/install")).status_code == 200
        answer = await admin.post("/api/conversations", json={"plugin_ids": [none_id, service_id]})
        chat_id = answer.json()["id"]
        hosted.model.push(Reply("Hello."))
        assert (await _say(admin, chat_id, "hi"))["text"] == "Hello."
    request = hosted.model.requests[-1]
    names = {tool["function"]["name"] for tool in request["tools"]}
    assert {"todo__list_todos", "todo_service__list_todos"} <= names
    system = request["messages"][0]["content"]
    assert "## Plugin todo\n" in system
    assert "## Plugin todo_service\n" in system


async def test_a_decision_is_taken_once_even_when_sent_twice_at_the_same_time(
    hosted: Hosted,
) -> None:
    async with await hosted.user("ada") as api:
        chat_id, ops = await _todo_chat(hosted, api)
        hosted.model.push(
            CallTool(ops["add_todo"], {"username": "ada", "todo": "once"}, id="a1"),
            Reply("Added."),
            Reply("Added."),
        )
        assert (await _say(api, chat_id, "add once"))["paused"] is True
        # A second host process on the same store answers the same approval at the same time.
        second = await Host.start(hosted.settings, migrate=False)
        try:
            ada = await find_user(second.sessions, "ada")

            async def from_the_second_process() -> list[Event]:
                return [event async for event in second.chats.resume(ada, chat_id, {"a1": True})]

            first, other = await asyncio.gather(
                _approve(api, chat_id, "a1"), from_the_second_process()
            )
        finally:
            await second.aclose()
    made = hosted.recorders["plugin.example.com"].api_calls()
    assert [(r.method, r.path) for r in made] == [("POST", "/todos/ada")]
    # Exactly one of the two went ahead; the other was told the call was already answered.
    outcomes = [first["text"], next(e.text for e in other if isinstance(e, TurnDone))]
    assert sorted(outcomes) == ["", "Added."]


async def test_a_resume_refused_as_already_decided_leaves_the_running_turn_alone(
    hosted: Hosted,
) -> None:
    # Two workers without shared turn locks (no Redis): one ran the approved call and waits
    # for the model; the other's resume of the same approval is refused meanwhile. The refused
    # one must not close "its" turn: that would end the running turn's history under it.
    answering = threading.Event()
    release = threading.Event()

    def after_the_call(body: dict[str, object]) -> Reply:
        answering.set()
        release.wait(timeout=30)
        return Reply("Added.")

    async with await hosted.user("ada") as api:
        chat_id, ops = await _todo_chat(hosted, api)
        hosted.model.push(
            CallTool(ops["add_todo"], {"username": "ada", "todo": "once"}, id="a1"),
            Respond(after_the_call),
        )
        assert (await _say(api, chat_id, "add once"))["paused"] is True
        second = await Host.start(hosted.settings, migrate=False)
        try:
            ada = await find_user(second.sessions, "ada")
            winner = asyncio.create_task(_approve(api, chat_id, "a1"))
            try:
                # The winner's call is made, and the model is answering it.
                assert await asyncio.to_thread(answering.wait, 30)
                refused = [event async for event in second.chats.resume(ada, chat_id, {"a1": True})]
            finally:
                release.set()
            won = await winner
        finally:
            await second.aclose()
        view = (await api.get(f"/api/conversations/{chat_id}")).json()
    errors = [e.message for e in refused if isinstance(e, ErrorEvent)]
    # Refused as already decided or as nothing waiting, depending on whether it read the
    # history before or after the winner wrote the call's result; both say what to do.
    assert len(errors) == 1
    assert "Fix: reload the conversation" in errors[0]
    assert won["text"] == "Added."
    assert [m["role"] for m in view["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert view["messages"][-1]["content"] == "Added."
