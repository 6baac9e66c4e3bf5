"""Talk to one MCP server with the official SDK's client: list its tools, call one.

Each exchange opens a connection and closes it again (an MCP server used as a plugin is called
like an API, one call at a time, and no state is kept between calls). HTTP goes through the
guarded client; a command server runs with the SDK's safe default environment (PATH, HOME, ...,
never the host's own settings or secrets). Whatever goes wrong comes out as a `NetError` (or
`McpServerError` for an answer that is not MCP), never as the SDK's own exceptions.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from powerstrip.errors import ConnectError, FetchTimeoutError, NetError, PowerstripError
from powerstrip.mcp_client.target import McpTarget
from powerstrip.mcp_client.transport import GuardedMcpTransport
from powerstrip.net import GuardedClient

__all__ = [
    "McpCallResult",
    "McpServerError",
    "McpServerInfo",
    "McpUnauthorizedError",
    "call_tool",
    "list_tools",
    "open_client",
]

logger = logging.getLogger(__name__)

_MAX_TOOLS = 500


class McpServerError(NetError):
    """The MCP server answered, but not as MCP says (or with an error for the whole request)."""


class McpUnauthorizedError(McpServerError):
    """The server answered 401: no credential, or one it refused.

    `challenge` is its `WWW-Authenticate` header (where an OAuth server names its protected
    resource metadata), "" when it sent none.
    """

    challenge: str = ""


def _unauthorized(target: McpTarget, challenge: str) -> McpUnauthorizedError:
    error = McpUnauthorizedError(
        "the MCP server refused the request without a valid credential (401)",
        where=target.name,
        fix="install the plugin with your key, or sign in to it again",
    )
    error.challenge = challenge
    return error


@dataclass(frozen=True, slots=True)
class McpServerInfo:
    """What a server says about itself, and its tools as JSON (the `tools/list` result's)."""

    name: str
    title: str
    instructions: str
    tools: tuple[dict[str, Any], ...]  # Any: JSON values


@dataclass(frozen=True, slots=True)
class McpCallResult:
    """A tool's answer as text, whether the tool said it failed, and its size."""

    text: str
    is_error: bool
    size: int


def _first_error(exc: BaseException) -> BaseException:
    """The error an exception group stands for (the SDK runs each connection in a task group)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _as_powerstrip(exc: BaseException, target: McpTarget) -> PowerstripError:
    inner = _first_error(exc)
    if isinstance(inner, PowerstripError):
        return inner
    if isinstance(inner, MCPError):
        return McpServerError(
            f"the MCP server refused the request: {inner.message[:300]}",
            where=target.name,
            fix="check the server's log; the request may not suit its tools",
        )
    if isinstance(inner, TimeoutError):
        return FetchTimeoutError(
            "the MCP server did not answer in time",
            where=target.name,
            fix="check that the server is up, or raise POWERSTRIP_CALL_TIMEOUT",
        )
    if isinstance(inner, OSError):
        return ConnectError(
            f"the MCP server could not be started or reached ({type(inner).__name__})",
            where=target.name,
            fix="check the command or URL, and that the server runs",
        )
    return McpServerError(
        f"the MCP exchange failed ({type(inner).__name__}: {str(inner)[:200]})",
        where=target.name,
        fix="check that the URL or command is an MCP server (streamable HTTP or stdio)",
    )


# What each server said to `server/discover` (by target name), so later connections adopt it
# instead of probing again: one round trip a call instead of two. Forgotten when an exchange
# with the server fails (it may have changed), bounded, per process.
_DISCOVERED: OrderedDict[str, tuple[str, types.DiscoverResult]] = OrderedDict()
_DISCOVERED_LIMIT = 256


def _remember(target: McpTarget, connected: Client) -> None:
    result = connected.session.discover_result
    if result is None:
        return  # a handshake-era server: every connection initializes
    _DISCOVERED[target.name] = (connected.protocol_version, result)
    _DISCOVERED.move_to_end(target.name)
    while len(_DISCOVERED) > _DISCOVERED_LIMIT:
        _DISCOVERED.popitem(last=False)


def _connect_options(target: McpTarget) -> dict[str, Any]:  # Any: Client's keyword values
    known = _DISCOVERED.get(target.name)
    if known is None:
        return {"mode": "auto"}
    version, result = known
    return {"mode": version, "prior_discover": result}


@asynccontextmanager
async def open_client(
    client: GuardedClient,
    target: McpTarget,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - a budget, enforced with fail_after
    transport: GuardedMcpTransport | None = None,
) -> AsyncIterator[Client]:
    """A connected `mcp.Client` for `target`; HTTP through `client`, on behalf of its URL.

    `transport` (one made for this target and `client`) lets the caller see a 401 afterwards.
    """
    budget = client.policy.call_timeout if timeout is None else timeout
    if target.url is not None:
        if transport is None:
            transport = GuardedMcpTransport(client, origin=target.url, timeout=budget)
        http = httpx2.AsyncClient(transport=transport, headers=dict(headers or {}))
        async with (
            http,
            Client(
                streamable_http_client(target.url, http_client=http),
                read_timeout_seconds=budget,
                cache=None,
                **_connect_options(target),
            ) as connected,
        ):
            _remember(target, connected)
            yield connected
        return
    program, *arguments = target.command
    async with Client(
        StdioServerParameters(command=program, args=arguments),
        read_timeout_seconds=budget,
        cache=None,
        **_connect_options(target),
    ) as connected:
        _remember(target, connected)
        yield connected


def _transport(
    client: GuardedClient, target: McpTarget, budget: float
) -> GuardedMcpTransport | None:
    if target.url is None:
        return None
    return GuardedMcpTransport(client, origin=target.url, timeout=budget)


def _failure(
    exc: BaseException, target: McpTarget, transport: GuardedMcpTransport | None
) -> PowerstripError:
    """The error an exchange ended with: a 401 says so, whatever the SDK made of it."""
    if transport is not None and transport.unauthorized is not None:
        inner = _first_error(exc)
        if not isinstance(inner, NetError) or isinstance(inner, McpServerError):
            return _unauthorized(target, transport.unauthorized)
    return _as_powerstrip(exc, target)


async def list_tools(
    client: GuardedClient,
    target: McpTarget,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,  # noqa: ASYNC109
) -> McpServerInfo:
    """The server's name, instructions and tools (every page, at most 500 tools)."""
    budget = client.policy.fetch_timeout if timeout is None else timeout
    transport = _transport(client, target, budget)
    try:
        with anyio.fail_after(budget * 2):
            async with open_client(
                client, target, headers=headers, timeout=budget, transport=transport
            ) as session:
                tools: list[dict[str, Any]] = []
                cursor: str | None = None
                while len(tools) < _MAX_TOOLS:
                    page = await session.list_tools(cursor=cursor)
                    tools += [
                        tool.model_dump(mode="json", by_alias=True, exclude_none=True)
                        for tool in page.tools
                    ]
                    cursor = page.next_cursor
                    if not cursor:
                        break
                info = session.server_info
                instructions = session.instructions or ""
    except Exception as exc:
        _DISCOVERED.pop(target.name, None)
        raise _failure(exc, target, transport) from None
    logger.info("mcp_client.list target=%s tools=%s", target.host, len(tools))
    return McpServerInfo(
        name=info.name if info is not None else "",
        title=(info.title or "") if info is not None else "",
        instructions=instructions,
        tools=tuple(tools[:_MAX_TOOLS]),
    )


async def call_tool(
    client: GuardedClient,
    target: McpTarget,
    name: str,
    arguments: Mapping[str, Any],  # Any: JSON values
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,  # noqa: ASYNC109
) -> McpCallResult:
    """Call one tool; its text (structured content as JSON when it gave no text)."""
    budget = client.policy.call_timeout if timeout is None else timeout
    transport = _transport(client, target, budget)
    try:
        with anyio.fail_after(budget * 2):
            async with open_client(
                client, target, headers=headers, timeout=budget, transport=transport
            ) as session:
                result = await session.call_tool(name, dict(arguments))
    except Exception as exc:
        _DISCOVERED.pop(target.name, None)
        raise _failure(exc, target, transport) from None
    parts = [
        block.text if isinstance(block, types.TextContent) else f"[{block.type} content]"
        for block in result.content
    ]
    if not parts and result.structured_content is not None:
        parts = [json.dumps(result.structured_content, ensure_ascii=False)]
    text = "\n".join(parts)
    return McpCallResult(text=text, is_error=bool(result.is_error), size=len(text.encode()))
