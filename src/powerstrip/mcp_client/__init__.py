"""MCP servers as plugins: reach one (streamable HTTP through the guarded client, or a local
command), list its tools as a Powerstrip tool set, and call a tool. No store, no plugin rules:
the registry and the executor use this as they use `openapi` and `net`.
"""

from powerstrip.mcp_client.session import (
    McpCallResult,
    McpServerError,
    McpServerInfo,
    McpUnauthorizedError,
    call_tool,
    list_tools,
    open_client,
)
from powerstrip.mcp_client.target import COMMAND_SCHEME, McpTarget
from powerstrip.mcp_client.tools import consequential_of, tools_document, toolset_from_document
from powerstrip.mcp_client.transport import GuardedMcpTransport

__all__ = [
    "COMMAND_SCHEME",
    "GuardedMcpTransport",
    "McpCallResult",
    "McpServerError",
    "McpServerInfo",
    "McpTarget",
    "McpUnauthorizedError",
    "call_tool",
    "consequential_of",
    "list_tools",
    "open_client",
    "tools_document",
    "toolset_from_document",
]
