"""`/mcp`: the official MCP client lists and calls a user's plugins over streamable HTTP.

Each test runs a real host (TLS on loopback) with the todo example behind `plugin.example.com`,
and talks to it with `mcp.Client` over `streamable_http_client`, sending a user's API token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import select

from powerstrip.host import issue_token
from powerstrip.retrieval import Retriever, Scope
from powerstrip.store import Call, create_engine, session_factory
from tests import secret_watch
from tests.server.conftest import Hosted

pytestmark = pytest.mark.anyio

_HOST = "plugin.example.com"


def _token(api: httpx.AsyncClient) -> str:
    return api.headers["authorization"].partition(" ")[2]


@asynccontextmanager
async def mcp_client(hosted: Hosted, token: str | None, **options: Any) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(verify=hosted.tls, headers=headers, timeout=30) as http:
        transport = streamable_http_client(f"{hosted.server.url}/mcp", http_client=http)
        async with Client(transport, **options) as client:
            yield client


async def _installed(hosted: Hosted, api: httpx.AsyncClient) -> int:
    plugin_id = await hosted.add_plugin(api, _HOST)
    answer = await api.post(f"/api/plugins/{plugin_id}/install")
    assert answer.status_code == 200, answer.text
    return plugin_id


def _by_operation(tools: list[types.Tool]) -> dict[str, types.Tool]:
    return {tool.name.split("__", 1)[1]: tool for tool in tools}


async def test_tools_carry_the_operations_hints_and_calls_reach_the_plugin(
    hosted: Hosted,
) -> None:
    async with await hosted.user("ada") as ada:
        await _installed(hosted, ada)
        async with mcp_client(hosted, _token(ada)) as client:
            tools = _by_operation((await client.list_tools()).tools)
            assert set(tools) == {"add_todo", "list_todos", "delete_todo"}
            listed, added, deleted = tools["list_todos"], tools["add_todo"], tools["delete_todo"]
            # GET, declared not consequential: reads only.
            assert listed.annotations is not None
            assert listed.annotations.read_only_hint is True
            assert listed.annotations.destructive_hint is False
            assert listed.annotations.idempotent_hint is True
            # POST declared `x-openai-isConsequential: false`: changes things, destroys nothing.
            assert added.annotations is not None
            assert added.annotations.read_only_hint is False
            assert added.annotations.destructive_hint is False
            assert added.annotations.idempotent_hint is False
            # DELETE declared consequential: destructive.
            assert deleted.annotations is not None
            assert deleted.annotations.read_only_hint is False
            assert deleted.annotations.destructive_hint is True
            assert deleted.annotations.idempotent_hint is True
            for tool in tools.values():
                assert tool.annotations is not None
                assert tool.annotations.open_world_hint is True
                assert tool.input_schema["type"] == "object"
            assert "username" in added.input_schema["properties"]

            made = await client.call_tool(added.name, {"username": "ada", "todo": "buy milk"})
            assert not made.is_error, made.content
            shown = await client.call_tool(listed.name, {"username": "ada"})
            assert not shown.is_error
            [content] = shown.content
            assert isinstance(content, types.TextContent)
            assert "buy milk" in content.text
            invalid = await client.call_tool(added.name, {"username": "ada"})
            assert invalid.is_error
    api_calls = hosted.recorders[_HOST].api_calls()
    assert [(r.method, r.path) for r in api_calls] == [
        ("POST", "/todos/ada"),
        ("GET", "/todos/ada"),
    ]
    # Every call is in the ledger, outside any conversation; the invalid one too.
    engine = create_engine(hosted.settings.database_url)
    try:
        async with session_factory(engine)() as session:
            rows = (await session.scalars(select(Call).order_by(Call.started_at))).all()
    finally:
        await engine.dispose()
    assert [(row.conversation_id, row.outcome) for row in rows] == [
        (None, "ok"),
        (None, "ok"),
        (None, "invalid_arguments"),
    ]


async def test_a_consequential_tool_is_refused_until_the_user_allows_it(hosted: Hosted) -> None:
    async with await hosted.user("ada") as ada:
        await _installed(hosted, ada)
        async with mcp_client(hosted, _token(ada)) as client:
            tools = _by_operation((await client.list_tools()).tools)
            add, delete = tools["add_todo"].name, tools["delete_todo"].name
            made = await client.call_tool(add, {"username": "ada", "todo": "x"})
            assert not made.is_error
            refused = await client.call_tool(delete, {"username": "ada", "todo_id": 1})
            assert refused.is_error
            [text] = refused.content
            assert isinstance(text, types.TextContent)
            assert f"powerstrip mcp allow {delete}" in text.text
            assert "/api/mcp/allowed" in text.text
            assert not [r for r in hosted.recorders[_HOST].api_calls() if r.method == "DELETE"]

            allowed = await ada.post("/api/mcp/allowed", json={"tool": delete})
            assert allowed.status_code == 200, allowed.text
            done = await client.call_tool(delete, {"username": "ada", "todo_id": 1})
            assert not done.is_error, done.content
        deletes = [r for r in hosted.recorders[_HOST].api_calls() if r.method == "DELETE"]
        assert [r.path for r in deletes] == ["/todos/ada/1"]
        # The allowance is a grant the user sees and can revoke.
        grants = (await ada.get("/api/grants")).json()["grants"]
        assert [g["operation_id"] for g in grants] == ["delete_todo"]


async def test_a_client_that_can_ask_gets_the_users_yes_or_no_by_elicitation(
    hosted: Hosted,
) -> None:
    answers: list[bool] = []
    asked: list[str] = []

    async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"allow": answers.pop(0)})

    async with await hosted.user("ada") as ada:
        await _installed(hosted, ada)
        async with mcp_client(hosted, _token(ada), elicitation_callback=elicit) as client:
            tools = _by_operation((await client.list_tools()).tools)
            await client.call_tool(tools["add_todo"].name, {"username": "ada", "todo": "x"})
            delete = tools["delete_todo"].name
            answers.append(False)
            declined = await client.call_tool(delete, {"username": "ada", "todo_id": 1})
            assert declined.is_error
            answers.append(True)
            done = await client.call_tool(delete, {"username": "ada", "todo_id": 1})
            assert not done.is_error, done.content
    assert len(asked) == 2
    assert delete in asked[0]
    deletes = [r for r in hosted.recorders[_HOST].api_calls() if r.method == "DELETE"]
    assert len(deletes) == 1


async def test_each_token_sees_only_its_own_users_plugins(hosted: Hosted) -> None:
    async with await hosted.user("ada") as ada, await hosted.user("bob") as bob:
        await _installed(hosted, ada)
        async with mcp_client(hosted, _token(ada)) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
        assert len(names) == 3
        async with mcp_client(hosted, _token(bob)) as client:
            assert (await client.list_tools()).tools == []
            answer = await client.call_tool(names[0], {"username": "ada"})
            assert answer.is_error
            [text] = answer.content
            assert isinstance(text, types.TextContent)
            assert "no tool named" in text.text
    assert hosted.recorders[_HOST].api_calls() == []


async def test_no_token_or_a_wrong_one_is_refused_before_mcp(hosted: Hosted) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"accept": "application/json, text/event-stream"}
    async with hosted.client(headers) as anonymous:
        answer = await anonymous.post("/mcp", json=body)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
        wrong = await anonymous.post(
            "/mcp", json=body, headers={"authorization": "Bearer pst_not-a-token"}
        )
        assert wrong.status_code == 401
    async with await hosted.user("ada") as ada:
        foreign = await ada.post(
            "/mcp", json=body, headers=headers | {"origin": "https://evil.example.net"}
        )
        assert foreign.status_code == 403
        # A token for files only may not call plugins.
        me = (await ada.get("/api/me")).json()
        engine = create_engine(hosted.settings.database_url)
        try:
            files_only = await issue_token(session_factory(engine), me["id"], scopes=("files",))
        finally:
            await engine.dispose()
        secret_watch.watch(files_only)
        narrow = await ada.post(
            "/mcp", json=body, headers=headers | {"authorization": f"Bearer {files_only}"}
        )
        assert narrow.status_code == 403
        assert "chat" in narrow.text


async def test_the_users_documents_are_resources(hosted: Hosted) -> None:
    async with await hosted.user("ada") as ada, await hosted.user("bob") as bob:
        me = (await ada.get("/api/me")).json()
        engine = create_engine(hosted.settings.database_url)
        try:
            settings = hosted.settings.model_copy(update={"retrieval_embedder": "lexical"})
            retriever = Retriever.from_settings(session_factory(engine), settings)
            await retriever.start()
            text = "Powerstrip serves plugins.\n\nIt also serves documents as MCP resources."
            await retriever.add_text(Scope(me["id"], "default"), "notes.txt", text)
            await retriever.aclose()
        finally:
            await engine.dispose()
        async with mcp_client(hosted, _token(ada)) as client:
            [resource] = (await client.list_resources()).resources
            assert resource.name == "notes.txt"
            read = await client.read_resource(resource.uri)
            [contents] = read.contents
            assert isinstance(contents, types.TextResourceContents)
            assert contents.text == text
        async with mcp_client(hosted, _token(bob)) as client:
            assert (await client.list_resources()).resources == []
            with pytest.raises(Exception, match="no resource"):
                await client.read_resource(resource.uri)
