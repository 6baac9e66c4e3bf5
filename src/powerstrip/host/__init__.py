"""The host's services over the store, the registry and the runtime: what the REST API, the web
UI and the CLI all call, so none of them holds logic another would need.

    host = await Host.start(settings)
    user = await host.users.ensure("ada")
    entries = await host.plugins.store(user)
    chat = await host.chats.create(user, plugin_ids=(plugin_id,))
    async for event in host.chats.send(user, chat.id, "What is on my list?"):
        ...
    await host.aclose()
"""

from powerstrip.host.accounts import Accounts, SignInThrottle, TooManyAttemptsError
from powerstrip.host.api_objects import ApiObjects, Page, PageRequest
from powerstrip.host.api_sampling import chat_sampling
from powerstrip.host.api_turns import ApiTurn, ApiTurns, PluginChoice
from powerstrip.host.chats import Chats, ChatSummary, ChatView, PendingApproval, call_record
from powerstrip.host.clock import Clock, system_clock
from powerstrip.host.core import Host
from powerstrip.host.data_controls import DataControls, DataSettings, DeletionReport
from powerstrip.host.document_list import (
    DocumentListing,
    DocumentText,
    list_documents,
    read_document,
)
from powerstrip.host.documents import DEFAULT_COLLECTION, DocumentInfo, Documents
from powerstrip.host.draining import SHUTDOWN_MESSAGE, Drain
from powerstrip.host.export_archive import ARCHIVE_FILES
from powerstrip.host.exports import ExportDownload, ExportInfo, Exports, ExportTicket
from powerstrip.host.feedback import FeedbackInfo, Feedbacks
from powerstrip.host.grants import GrantInfo, StoreGrants, add_grant, list_grants, revoke_grant
from powerstrip.host.health import Check, Health, Readiness
from powerstrip.host.key_rotation import RotationReport, TableRotation, rotate_keys
from powerstrip.host.logos import Logo, Logos
from powerstrip.host.mcp_consent import ConsentRequest, check_redirect_uri
from powerstrip.host.mcp_oauth import (
    ACCESS_PREFIX,
    MCP_SCOPE,
    REFRESH_PREFIX,
    IssuedTokens,
    McpClientInfo,
    McpConnectionInfo,
    McpOAuth,
    TokenGrant,
)
from powerstrip.host.mcp_servers import McpServers
from powerstrip.host.metrics import (
    METRICS_CONTENT_TYPE,
    Metrics,
    QueueDepth,
    observe_call,
    observe_request,
)
from powerstrip.host.model_choice import model_from_settings
from powerstrip.host.openai_api import OpenAIApi
from powerstrip.host.plugins import InstallResult, OperationView, Plugins, Registration
from powerstrip.host.recorder import StoreRecorder
from powerstrip.host.responses import ResponseRequest
from powerstrip.host.retention import PurgeReport, Retention
from powerstrip.host.rewind import Rewound
from powerstrip.host.tool_calls import ToolCallResult, ToolCalls, ToolHints, UserTool, hints_for
from powerstrip.host.transcription import Transcriber, TranscriptionBackend, TranscriptionInfo
from powerstrip.host.transcription_formats import RESPONSE_FORMATS, OpenAITranscription
from powerstrip.host.users import (
    ALL_SCOPES,
    DEV_USER,
    TOKEN_PREFIX,
    IssuedToken,
    TokenInfo,
    UserInfo,
    Users,
    ensure_user,
    find_user,
    hash_token,
    issue_token,
    require_admin,
    revoke_tokens,
    user_for_token,
)
from powerstrip.net import OUTBOUND_HEADER
from powerstrip.registry import PluginDiff, PluginInfo, StoreEntry
from powerstrip.store import display_url

__all__ = [
    "ACCESS_PREFIX",
    "ALL_SCOPES",
    "ARCHIVE_FILES",
    "DEFAULT_COLLECTION",
    "DEV_USER",
    "MCP_SCOPE",
    "METRICS_CONTENT_TYPE",
    "OUTBOUND_HEADER",
    "REFRESH_PREFIX",
    "RESPONSE_FORMATS",
    "SHUTDOWN_MESSAGE",
    "TOKEN_PREFIX",
    "Accounts",
    "ApiObjects",
    "ApiTurn",
    "ApiTurns",
    "ChatSummary",
    "ChatView",
    "Chats",
    "Check",
    "Clock",
    "ConsentRequest",
    "DataControls",
    "DataSettings",
    "DeletionReport",
    "DocumentInfo",
    "DocumentListing",
    "DocumentText",
    "Documents",
    "Drain",
    "ExportDownload",
    "ExportInfo",
    "ExportTicket",
    "Exports",
    "FeedbackInfo",
    "Feedbacks",
    "GrantInfo",
    "Health",
    "Host",
    "InstallResult",
    "IssuedToken",
    "IssuedTokens",
    "Logo",
    "Logos",
    "McpClientInfo",
    "McpConnectionInfo",
    "McpOAuth",
    "McpServers",
    "Metrics",
    "OpenAIApi",
    "OpenAITranscription",
    "OperationView",
    "Page",
    "PageRequest",
    "PendingApproval",
    "PluginChoice",
    "PluginDiff",
    "PluginInfo",
    "Plugins",
    "PurgeReport",
    "QueueDepth",
    "Readiness",
    "Registration",
    "ResponseRequest",
    "Retention",
    "Rewound",
    "RotationReport",
    "SignInThrottle",
    "StoreEntry",
    "StoreGrants",
    "StoreRecorder",
    "TableRotation",
    "TokenGrant",
    "TokenInfo",
    "TooManyAttemptsError",
    "ToolCallResult",
    "ToolCalls",
    "ToolHints",
    "Transcriber",
    "TranscriptionBackend",
    "TranscriptionInfo",
    "UserInfo",
    "UserTool",
    "Users",
    "add_grant",
    "call_record",
    "chat_sampling",
    "check_redirect_uri",
    "display_url",
    "ensure_user",
    "find_user",
    "hash_token",
    "hints_for",
    "issue_token",
    "list_documents",
    "list_grants",
    "model_from_settings",
    "observe_call",
    "observe_request",
    "read_document",
    "require_admin",
    "revoke_grant",
    "revoke_tokens",
    "rotate_keys",
    "system_clock",
    "user_for_token",
]
