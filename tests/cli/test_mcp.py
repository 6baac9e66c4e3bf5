"""`powerstrip mcp serve` as a desktop client starts it: a subprocess speaking MCP on stdio.

The official `mcp` client launches the command with the test's environment and a user's API
token, lists the todo example's tools and calls them; the plugin runs on loopback over TLS.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
import mcp_types as types
from mcp import Client, StdioServerParameters

from tests.cli.conftest import Cli, run_async

_PLUGIN = "https://plugin.example.com"


def _server(cli: Cli, token: str) -> StdioServerParameters:
    env = {"PATH": os.environ.get("PATH", ""), **cli.env, "POWERSTRIP_TOKEN": token}
    return StdioServerParameters(
        command=sys.executable, args=["-m", "powerstrip", "mcp", "serve"], env=env
    )


def _text(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def _session(cli: Cli, token: str, calls: list[tuple[str, dict[str, Any]]]) -> Any:
    """The tools listed, then the result of each call in order."""
    async with Client(_server(cli, token)) as client:
        tools = (await client.list_tools()).tools
        results = [await client.call_tool(name, arguments) for name, arguments in calls]
    return tools, results


def test_stdio_lists_and_calls_the_users_tools_and_holds_back_a_destructive_one(
    cli: Cli,
) -> None:
    cli("plugins", "install", _PLUGIN)
    token = cli("users", "token", "dev").stdout.strip()
    listing = cli("mcp", "tools").stdout
    assert "todo__delete_todo  DELETE /todos/{username}/{todo_id}" in listing
    assert "destructive, idempotent · waits for your allowance" in listing
    delete = {"username": "dev", "todo_id": 1}

    async def session() -> None:
        async with Client(_server(cli, token)) as client:
            hints = {t.name: t.annotations for t in (await client.list_tools()).tools}
            assert set(hints) == {"todo__add_todo", "todo__list_todos", "todo__delete_todo"}
            assert hints["todo__list_todos"] is not None
            assert hints["todo__list_todos"].read_only_hint is True
            assert hints["todo__delete_todo"] is not None
            assert hints["todo__delete_todo"].destructive_hint is True
            added = await client.call_tool(
                "todo__add_todo", {"username": "dev", "todo": "buy milk"}
            )
            assert not added.is_error, _text(added)
            shown = await client.call_tool("todo__list_todos", {"username": "dev"})
            assert "buy milk" in _text(shown)
            refused = await client.call_tool("todo__delete_todo", delete)
            assert refused.is_error
            assert "powerstrip mcp allow todo__delete_todo" in _text(refused)
            # The user allows it from another terminal; the running server sees it at once.
            allowed = await anyio.to_thread.run_sync(
                lambda: cli("mcp", "allow", "todo__delete_todo").stdout
            )
            assert "allowed todo__delete_todo" in allowed
            deleted = await client.call_tool("todo__delete_todo", delete)
            assert not deleted.is_error, _text(deleted)
            after = await client.call_tool("todo__list_todos", {"username": "dev"})
            assert "buy milk" not in _text(after)

    run_async(session())


def test_another_users_token_serves_only_that_users_plugins(cli: Cli) -> None:
    cli("plugins", "install", _PLUGIN)
    cli("users", "add", "ada")
    token = cli("users", "token", "ada").stdout.strip()
    tools, (answer,) = run_async(_session(cli, token, [("todo__list_todos", {"username": "dev"})]))
    assert tools == []
    assert answer.is_error
    assert "no tool named" in _text(answer)


def test_serve_refuses_a_missing_or_wrong_token(cli: Cli) -> None:
    missing = cli("mcp", "serve", code=1)
    assert "no API token given" in missing.output
    assert "POWERSTRIP_TOKEN" in missing.output
    wrong = cli("mcp", "serve", "--token", "pst_wrong", code=1)
    assert "a valid API token is needed" in wrong.output
