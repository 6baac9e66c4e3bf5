"""`powerstrip mcp …`: serve a user's plugins to MCP clients, list them as tools, allow them,
and list or disconnect the clients a user connected with OAuth.

`serve` is what a desktop MCP client starts (docs/mcp.md has its configuration): it speaks MCP
on standard input and output for the user whose API token it is given, so a client holds a
token, never the store's keys to everyone. Logging goes to standard error.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from rich.markup import escape

from powerstrip.cli.host import (
    DevOption,
    UserOption,
    acting_user,
    load_settings,
    open_host,
    out_console,
    run,
)
from powerstrip.cli.invocation import powerstrip_command
from powerstrip.errors import AccessError, SignInRequiredError

__all__ = ["mcp_app"]

mcp_app = typer.Typer(
    name="mcp",
    help="Serve your installed plugins to MCP clients (desktop chat apps, coding agents).",
    no_args_is_help=True,
)

TokenOption = Annotated[
    str,
    typer.Option(
        "--token",
        envvar="POWERSTRIP_TOKEN",
        help="The API token of the user to serve (from the `users token NAME` command); or set "
        "POWERSTRIP_TOKEN.",
        show_default=False,
    ),
]


@mcp_app.command("serve")
def serve(token: TokenOption = "", dev: DevOption = False) -> None:
    """Speak MCP on stdin/stdout for the token's user: their plugins' operations as tools."""
    from powerstrip.mcp import serve_stdio

    # Standard output is the protocol's: every log line goes to standard error.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)

    async def main() -> None:
        async with open_host(load_settings(dev=dev)) as host:
            signed_in = await host.users.authenticate(token.strip()) if token.strip() else None
            if signed_in is None:
                raise SignInRequiredError(
                    "a valid API token is needed to serve MCP" if token else "no API token given",
                    where="--token / POWERSTRIP_TOKEN",
                    fix=f"issue one with `{powerstrip_command()} users token NAME` and pass it "
                    "with --token or POWERSTRIP_TOKEN",
                )
            if not signed_in.may("chat"):
                raise AccessError(
                    "this API token does not have the 'chat' scope: MCP tools call plugins",
                    where="--token / POWERSTRIP_TOKEN",
                    fix="use a token issued with the chat scope",
                )
            await serve_stdio(host, signed_in)

    run(main())


@mcp_app.command("tools")
def tools(user: UserOption = "dev", dev: DevOption = False) -> None:
    """List the tools an MCP client sees: each operation with its hints."""

    async def main() -> None:
        async with open_host(load_settings(dev=dev)) as host:
            who = await acting_user(host, user)
            listed = await host.tool_calls.tools(who)
        for item in listed:
            hints = [
                name
                for name, on in (
                    ("read-only", item.hints.read_only),
                    ("destructive", item.hints.destructive),
                    ("idempotent", item.hints.idempotent),
                )
                if on
            ]
            waits = " · waits for your allowance" if item.needs_allowance else ""
            out_console.print(
                f"{escape(item.name)}  {escape(item.method)} {escape(item.path)}  "
                f"[dim]{', '.join(hints) or 'changes things'}{waits}[/]"
            )
        if not listed:
            out_console.print("no tools: install a plugin first")

    run(main())


@mcp_app.command("allow")
def allow(
    tool: Annotated[str, typer.Argument(help="The tool's name, e.g. todo__addTodo.")],
    user: UserOption = "dev",
    dev: DevOption = False,
) -> None:
    """Let your MCP clients call a tool that changes things, without asking each time."""

    async def main() -> None:
        async with open_host(load_settings(dev=dev)) as host:
            who = await acting_user(host, user)
            allowed = await host.tool_calls.allow(who, tool)
            days = host.settings.grant_ttl_days
        lasting = f"for {days} days" if days else "until revoked"
        out_console.print(
            f"allowed {escape(allowed.name)} ({escape(allowed.method)} {escape(allowed.path)} of "
            f"{escape(allowed.plugin_name)}) for MCP clients {lasting}; revoke it at /api/grants"
        )

    run(main())


@mcp_app.command("clients")
def clients(user: UserOption = "dev", dev: DevOption = False) -> None:
    """List the apps you connected to this host over MCP with OAuth, and what each may do."""

    async def main() -> None:
        async with open_host(load_settings(dev=dev)) as host:
            who = await acting_user(host, user)
            connected = await host.mcp_oauth.connections(who)
        for item in connected:
            used = item.last_used_at.strftime("%Y-%m-%d %H:%M") if item.last_used_at else "never"
            out_console.print(
                f"{item.id}  {escape(item.client_name or item.client_id)}  "
                f"[dim]{escape(', '.join(item.redirect_hosts))} · may {' '.join(item.scopes)} · "
                f"connected {item.created_at:%Y-%m-%d} · last used {used}[/]"
            )
        if not connected:
            out_console.print("no MCP clients are connected")
        else:
            out_console.print(
                f"[dim]disconnect one with `{powerstrip_command()} mcp disconnect ID`[/]"
            )

    run(main())


@mcp_app.command("disconnect")
def disconnect(
    # Row ids are 64-bit: a larger number is a usage error here, not a driver's overflow.
    connection: Annotated[
        int, typer.Argument(help="The id `mcp clients` lists.", min=1, max=2**63 - 1)
    ],
    user: UserOption = "dev",
    dev: DevOption = False,
) -> None:
    """Disconnect an MCP client: its tokens stop working at once."""

    async def main() -> None:
        async with open_host(load_settings(dev=dev)) as host:
            who = await acting_user(host, user)
            await host.mcp_oauth.disconnect(who, connection)
        out_console.print(f"disconnected MCP client {connection}; its tokens no longer work")

    run(main())
