"""`McpServers`: the acting user adds an MCP server to the plugin store.

By URL (streamable HTTP, reached through the guarded client under the domain and TLS policy,
like any plugin), or, for admins and only when `POWERSTRIP_MCP_ALLOW_COMMANDS` is on, as a
local command the host runs over stdio. Installing, enabling in chats, consent and the call
ledger are the plugin store's, unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from urllib.parse import urlsplit

from powerstrip.auth import check_key
from powerstrip.errors import AccessError, InvalidInputError
from powerstrip.host.users import UserInfo
from powerstrip.mcp_client import McpTarget
from powerstrip.registry import PluginInfo, Registry
from powerstrip.registry.mcp_servers import McpAuth
from powerstrip.settings import Settings

__all__ = ["McpServers"]

logger = logging.getLogger(__name__)


class McpServers:
    """Adds MCP servers as plugins; one per process."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings

    async def add(
        self,
        user: UserInfo,
        *,
        url: str | None = None,
        command: Sequence[str] = (),
        user_key: bool = False,
        service_key: str | None = None,
        oauth: bool = False,
    ) -> PluginInfo:
        """Check and store the server at `url` (or `command`).

        `user_key`: each user installs it with their own key. `service_key` (admins only): one
        key for every user's calls, sealed in the vault. `oauth`: each user signs in at the
        server's authorization server; a server that answers 401 without a key is taken to be
        one (from its protected resource metadata).
        """
        chosen = [
            name
            for name, on in (
                ("user_key", user_key),
                ("service_key", bool(service_key)),
                ("oauth", oauth),
            )
            if on
        ]
        if len(chosen) > 1:
            raise InvalidInputError(
                f"choose one way to authenticate, not {' and '.join(chosen)}",
                where="mcp server auth",
                fix="give a user key, a service key or OAuth, one of them",
            )
        if service_key:
            check_key("service_key", service_key)
            if not user.is_admin:
                # Every user's calls would act as the one account the key belongs to.
                raise AccessError(
                    "only an admin may add an MCP server with a service key: every user's "
                    "calls act as that key's account",
                    where="mcp server service_key",
                    fix="ask an admin, or add it with a key per user (user_key)",
                )
        if (url is None) == (not command):
            raise InvalidInputError(
                "name the MCP server by a URL or by a command, one of them",
                where="mcp server",
                fix="give its streamable-HTTP URL (https://.../mcp), or a command to run",
            )
        if command:
            if not user.is_admin or not self.settings.mcp_allow_commands:
                raise AccessError(
                    "only an admin may add an MCP server that runs as a local command, and only "
                    "when POWERSTRIP_MCP_ALLOW_COMMANDS=true",
                    where="mcp server command",
                    fix="add the server by its URL, or ask an admin",
                )
            if chosen:
                raise InvalidInputError(
                    "a command server takes no key and no sign-in: it runs on this machine",
                    where="mcp server command",
                    fix="add it without a key",
                )
            target = McpTarget(command=tuple(command))
            logger.info("mcp_servers.add_command user=%s program=%s", user.id, command[0])
        else:
            assert url is not None
            parts = urlsplit(url.strip())
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise InvalidInputError(
                    f"{url!r} is not an http(s) URL",
                    where="mcp server url",
                    fix="give the server's streamable-HTTP endpoint, e.g. https://example.com/mcp",
                )
            target = McpTarget(url=url.strip())
        auth: McpAuth = (
            "user_http"
            if user_key
            else "service_http"
            if service_key
            else "oauth"
            if oauth
            else "none"
        )
        return await self.registry.add_mcp_server(
            target, auth=auth, adder_id=user.id, service_key=service_key or None
        )
