"""An MCP server written with the SDK, added as a plugin and used in chats.

The notes server (`tests.mcp_sites.notes`) runs over TLS on loopback as `tools.example.com`;
the host reaches it through its guarded client like any plugin. It is added from its URL,
installed like an OpenAPI plugin, and used in a chat through the scripted model and through the
offline router: its read-only tool runs unasked, its destructive one waits for approval.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from powerstrip.host import Host, find_user
from powerstrip.runtime import ApprovalNeeded, CallFinished, TurnDone
from powerstrip.store import Call, create_engine, session_factory
from powerstrip.testing import CallTool, LoopbackServer, Reply, TestCA
from tests.mcp_sites import notes as notes_site
from tests.server.conftest import Hosted

pytestmark = pytest.mark.anyio

_URL = f"https://{notes_site.NAME}/mcp"


@pytest.fixture
def notes() -> notes_site.Notes:
    return notes_site.Notes()


@pytest.fixture
def notes_server(test_ca: TestCA, notes: notes_site.Notes) -> Iterator[LoopbackServer]:
    server = LoopbackServer(
        notes_site.app(notes),
        ssl_context=test_ca.server_context(notes_site.NAME),
        lifespan=True,
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def extra_sites(notes_server: LoopbackServer) -> dict[str, LoopbackServer]:
    return {notes_site.NAME: notes_server}


async def _post(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.post(path, json=body | {"stream": False})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def _added(api: httpx.AsyncClient) -> int:
    answer = await api.post("/api/mcp/servers", json={"url": _URL})
    assert answer.status_code == 201, answer.text
    plugin_id = int(answer.json()["id"])
    installed = await api.post(f"/api/plugins/{plugin_id}/install")
    assert installed.status_code == 200, installed.text
    return plugin_id


async def test_an_mcp_server_sits_in_the_store_with_flags_from_its_annotations(
    hosted: Hosted,
) -> None:
    async with await hosted.user("ada") as ada:
        api_plugin = await hosted.add_plugin(ada, "plugin.example.com")
        plugin_id = await _added(ada)
        store = (await ada.get("/api/plugins")).json()["plugins"]
        assert [p["id"] for p in store] == [api_plugin, plugin_id]
        [mcp] = [p for p in store if p["id"] == plugin_id]
        assert mcp["name_for_model"] == "notes"
        assert mcp["manifest_url"] == _URL
        assert mcp["installed"] is True
        ops = (await ada.get(f"/api/plugins/{plugin_id}/operations")).json()["operations"]
        flags = {
            op["operation_id"]: (op["method"], op["consequential"], op["consequential_declared"])
            for op in ops
        }
        assert flags == {
            "list_notes": ("GET", False, None),
            "add_note": ("POST", False, False),
            "clear_notes": ("POST", True, True),
            "shout": ("POST", True, True),  # no annotations: assume the worst
        }
        again = await ada.post("/api/mcp/servers", json={"url": _URL})
        assert again.status_code == 409, again.text


async def test_a_chat_calls_the_read_only_tool_and_waits_for_approval_of_the_destructive_one(
    hosted: Hosted, notes: notes_site.Notes
) -> None:
    notes.notes.append("buy milk")
    async with await hosted.user("ada") as ada:
        plugin_id = await _added(ada)
        chat = (await ada.post("/api/conversations", json={"plugin_ids": [plugin_id]})).json()
        path = f"/api/conversations/{chat['id']}"
        hosted.model.push(
            CallTool("notes__list_notes", {}, id="c1"),
            Reply("You have one note: buy milk."),
            CallTool("notes__clear_notes", {}, id="c2"),
            Reply("All notes are gone."),
        )
        listed = await _post(ada, f"{path}/messages", {"content": "what are my notes?"})
        assert listed["paused"] is False
        assert listed["text"] == "You have one note: buy milk."
        assert notes.calls == ["list_notes"]
        # The model saw the tool's answer as the plugin's data.
        tool_message = hosted.model.requests[1]["messages"][-1]
        assert "buy milk" in tool_message["content"]

        paused = await _post(ada, f"{path}/messages", {"content": "clear them all"})
        assert paused["paused"] is True
        [approval] = [e for e in paused["events"] if e["type"] == "approval_needed"]
        assert approval["function_name"] == "notes__clear_notes"
        assert approval["can_always_allow"] is False
        assert notes.calls == ["list_notes"]  # nothing destructive before the yes

        done = await _post(ada, f"{path}/approvals", {"decisions": {"c2": True}})
        assert done["text"] == "All notes are gone."
        assert notes.calls == ["list_notes", "clear_notes"]
        assert notes.notes == []
        calls = (await ada.get(f"{path}/calls")).json()["calls"]
        assert [(c["operation_id"], c["outcome"], c["url"]) for c in calls] == [
            ("list_notes", "ok", _URL),
            ("clear_notes", "ok", _URL),
        ]


async def test_the_offline_router_uses_an_mcp_plugin_and_holds_the_destructive_call(
    hosted: Hosted, notes: notes_site.Notes
) -> None:
    async with await hosted.user("ada") as ada:
        plugin_id = await _added(ada)
    settings = hosted.settings.model_copy(update={"model_base_url": ""})
    host = await Host.start(settings, migrate=False)
    try:
        assert host.model.name.startswith("offline")
        user = await find_user(host.sessions, "ada")
        chat = await host.chats.create(user, plugin_ids=(plugin_id,))
        events = [event async for event in host.chats.send(user, chat.id, "list my notes")]
        finished = [e for e in events if isinstance(e, CallFinished)]
        assert [(e.function_name, e.outcome) for e in finished] == [("notes__list_notes", "ok")]
        assert notes.calls == ["list_notes"]

        events = [event async for event in host.chats.send(user, chat.id, "clear all notes")]
        [approval] = [e for e in events if isinstance(e, ApprovalNeeded)]
        assert approval.function_name == "notes__clear_notes"
        assert isinstance(events[-1], TurnDone)
        assert events[-1].paused
        assert notes.calls == ["list_notes"]
        resumed = [e async for e in host.chats.resume(user, chat.id, {approval.approval_id: True})]
        assert any(isinstance(e, CallFinished) and e.outcome == "ok" for e in resumed)
        assert notes.calls == ["list_notes", "clear_notes"]
    finally:
        await host.aclose()
    engine = create_engine(hosted.settings.database_url)
    try:
        async with session_factory(engine)() as session:
            rows = (await session.scalars(select(Call).order_by(Call.started_at))).all()
    finally:
        await engine.dispose()
    assert [row.operation_id for row in rows] == ["list_notes", "clear_notes"]


async def test_an_mcp_plugin_is_served_again_to_mcp_clients_with_its_hints(
    hosted: Hosted, notes: notes_site.Notes
) -> None:
    async with await hosted.user("ada") as ada:
        await _added(ada)
        tools = (await ada.get("/api/mcp/tools")).json()["tools"]
    hints = {t["operation_id"]: (t["read_only"], t["destructive"]) for t in tools}
    assert hints == {
        "list_notes": (True, False),
        "add_note": (False, False),
        "clear_notes": (False, True),
        "shout": (False, True),
    }


async def test_a_command_server_is_for_admins_only(hosted: Hosted) -> None:
    async with await hosted.user("ada") as ada, await hosted.user("root", admin=True) as root:
        body = {"command": ["python", "-m", "some_mcp_server"]}
        refused = await ada.post("/api/mcp/servers", json=body)
        assert refused.status_code == 403, refused.text
        # Off by default, for admins too.
        off = await root.post("/api/mcp/servers", json=body)
        assert off.status_code == 403, off.text
        assert "POWERSTRIP_MCP_ALLOW_COMMANDS" in off.text


async def test_an_mcp_url_on_a_private_address_is_refused(hosted: Hosted) -> None:
    async with await hosted.user("ada") as ada:
        answer = await ada.post("/api/mcp/servers", json={"url": "https://10.0.0.7/mcp"})
        assert answer.status_code in (400, 502), answer.text
        assert "PS500" in answer.text
        assert (await ada.get("/api/plugins")).json()["plugins"] == []
