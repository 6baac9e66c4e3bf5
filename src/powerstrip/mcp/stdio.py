"""`powerstrip mcp serve`: the MCP server over stdio, for one user.

The command has already checked the user's API token; every request of the connection acts as
that user. Standard output carries the protocol only: logging goes to standard error.
"""

from __future__ import annotations

from typing import Any

from mcp.server import ServerRequestContext
from mcp.server.stdio import stdio_server

from powerstrip.host import Host, UserInfo
from powerstrip.mcp.server import build_server

__all__ = ["serve_stdio"]


async def serve_stdio(host: Host, user: UserInfo) -> None:
    """Serve MCP on this process's standard input and output until the client closes them."""

    async def the_user(ctx: ServerRequestContext[Any, Any]) -> UserInfo:
        return user

    server = build_server(host, the_user, state_key=host.mcp_state_key)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
