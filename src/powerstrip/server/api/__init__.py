"""The JSON REST API under `/api` (docs/api.md): plugins, conversations, the account, audio,
data controls and MCP tools."""

from powerstrip.server.api.account import router as account_router
from powerstrip.server.api.audio import TRANSCRIPTIONS_PATH, upload_cap
from powerstrip.server.api.audio import router as audio_router
from powerstrip.server.api.conversations import router as conversations_router
from powerstrip.server.api.data import router as data_router
from powerstrip.server.api.mcp import router as mcp_router
from powerstrip.server.api.plugins import router as plugins_router

__all__ = [
    "TRANSCRIPTIONS_PATH",
    "account_router",
    "audio_router",
    "conversations_router",
    "data_router",
    "mcp_router",
    "plugins_router",
    "upload_cap",
]
