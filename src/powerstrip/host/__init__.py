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

from powerstrip.host.chats import Chats, ChatSummary, ChatView, PendingApproval, call_record
from powerstrip.host.core import Host
from powerstrip.host.documents import DEFAULT_COLLECTION, Documents
from powerstrip.host.grants import GrantInfo, StoreGrants, add_grant, list_grants, revoke_grant
from powerstrip.host.key_rotation import RotationReport, TableRotation, rotate_keys
from powerstrip.host.model_choice import model_from_settings
from powerstrip.host.plugins import InstallResult, OperationView, Plugins, Registration
from powerstrip.host.recorder import StoreRecorder
from powerstrip.host.users import (
    ALL_SCOPES,
    DEV_USER,
    TOKEN_PREFIX,
    IssuedToken,
    TokenInfo,
    TokenUser,
    UserInfo,
    Users,
    ensure_user,
    find_user,
    hash_token,
    issue_token,
    revoke_tokens,
    user_for_token,
)
from powerstrip.net import OUTBOUND_HEADER
from powerstrip.registry import PluginDiff, PluginInfo, StoreEntry

__all__ = [
    "ALL_SCOPES",
    "DEFAULT_COLLECTION",
    "DEV_USER",
    "OUTBOUND_HEADER",
    "TOKEN_PREFIX",
    "ChatSummary",
    "ChatView",
    "Chats",
    "Documents",
    "GrantInfo",
    "Host",
    "InstallResult",
    "IssuedToken",
    "OperationView",
    "PendingApproval",
    "PluginDiff",
    "PluginInfo",
    "Plugins",
    "Registration",
    "RotationReport",
    "StoreEntry",
    "StoreGrants",
    "StoreRecorder",
    "TableRotation",
    "TokenInfo",
    "TokenUser",
    "UserInfo",
    "Users",
    "add_grant",
    "call_record",
    "ensure_user",
    "find_user",
    "hash_token",
    "issue_token",
    "list_grants",
    "model_from_settings",
    "revoke_grant",
    "revoke_tokens",
    "rotate_keys",
    "user_for_token",
]
