"""`powerstrip mcp serve` as a desktop client starts it: a subprocess speaking MCP on stdio.

The official `mcp` client launches the command with the test's environment and a user's API
token, lists the todo example's tools and calls them; the plugin runs on loopback over TLS.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import zipfile
from typing import Any

import anyio
import httpx
import mcp_types as types
from mcp import Client, StdioServerParameters

from powerstrip.host import ConsentRequest
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


async def _connect_app(cli: Cli, username: str) -> str:
    """An app that registered and that the user let in, as the OAuth pages would; its token."""
    host = await cli.host()
    try:
        user = await host.users.find(username)
        await host.mcp_oauth.register(
            "client-by-hand",
            name="Desk App",
            redirect_uris=["http://127.0.0.1:54321/callback"],
            registration={},
        )
        asked = ConsentRequest(
            client_id="client-by-hand",
            redirect_uri="http://127.0.0.1:54321/callback",
            redirect_uri_explicit=True,
            code_challenge="x" * 43,
            state=None,
            scopes=("mcp",),
            resource=host.mcp_oauth.check_resource(None),
        )
        code = httpx.URL(await host.mcp_oauth.approve(user, asked)).params["code"]
        return (await host.mcp_oauth.exchange_code("client-by-hand", code)).access_token
    finally:
        await host.aclose()


async def _signed_in(cli: Cli, token: str) -> str | None:
    host = await cli.host()
    try:
        user = await host.mcp_oauth.authenticate(token)
    finally:
        await host.aclose()
    return None if user is None else user.username


def test_clients_lists_a_connected_app_the_export_names_it_and_disconnect_revokes_it(
    cli: Cli,
) -> None:
    cli("users", "add", "ada")
    cli("users", "add", "bob")
    assert "no MCP clients are connected" in cli("mcp", "clients", "--user", "ada").stdout
    token = run_async(_connect_app(cli, "ada"))
    listing = cli("mcp", "clients", "--user", "ada").stdout
    [line] = [row for row in listing.splitlines() if "Desk App" in row]
    connection = line.split()[0]
    assert "127.0.0.1:54321 · may mcp" in line
    assert "no MCP clients are connected" in cli("mcp", "clients", "--user", "bob").stdout

    target = cli.data_dir / "ada.zip"
    cli("data", "export", "ada", "--output", str(target))
    with zipfile.ZipFile(target) as archive:
        everything = b"".join(archive.read(name) for name in archive.namelist()).decode()
        [app] = json.loads(archive.read("account.json"))["mcp_clients"]
    assert (app["client_name"], app["scopes"]) == ("Desk App", ["mcp"])
    assert token not in everything
    assert hashlib.sha256(token.encode()).hexdigest() not in everything

    # Another user's id is not theirs to disconnect, and changes nothing.
    refused = cli("mcp", "disconnect", connection, "--user", "bob", code=1)
    assert f"no connected MCP client with id {connection}" in refused.output
    assert run_async(_signed_in(cli, token)) == "ada"
    done = cli("mcp", "disconnect", connection, "--user", "ada").stdout
    assert f"disconnected MCP client {connection}" in done
    assert run_async(_signed_in(cli, token)) is None
    assert "no MCP clients are connected" in cli("mcp", "clients", "--user", "ada").stdout
    cli("mcp", "disconnect", "0", "--user", "ada", code=2)  # not an id: a usage error
