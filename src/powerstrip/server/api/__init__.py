"""The JSON REST API under `/api` (docs/api.md): plugins, conversations, the account, MCP tools."""

from powerstrip.server.api.account import router as account_router
from powerstrip.server.api.conversations import router as conversations_router
from powerstrip.server.api.mcp import router as mcp_router
from powerstrip.server.api.plugins import router as plugins_router

__all__ = ["account_router", "conversations_router", "mcp_router", "plugins_router"]
