"""`Registry`: the plugin store's rules behind one object, given everything it works with."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any
from weakref import WeakValueDictionary

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.auth import Vault
from powerstrip.errors import PowerstripError, RegistryError
from powerstrip.mcp_client import McpTarget
from powerstrip.net import GuardedClient
from powerstrip.registry import (
    catalog,
    credentials,
    installs,
    listing,
    mcp_servers,
    oauth_flow,
    registration,
)
from powerstrip.registry.catalog import PluginDiff, PluginInfo
from powerstrip.registry.context import RegistryContext, load_plugin
from powerstrip.registry.credentials import ExpiringToken, PluginCredentials
from powerstrip.registry.listing import StoreEntry
from powerstrip.registry.spec_cache import CachedTools, SpecCache
from powerstrip.runtime import AuthMaterial
from powerstrip.settings import Settings

__all__ = ["Registry"]

logger = logging.getLogger(__name__)


class Registry:
    """Register, verify, install, sign in, enable, refresh and uninstall plugins.

    All HTTP goes through the `GuardedClient` it is given; all state lives in the store, so any
    number of server processes may each hold a `Registry` over the same database.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        vault: Vault,
        client: GuardedClient,
        settings: Settings,
    ) -> None:
        self.context = RegistryContext(sessions, vault, client, settings)
        self.spec_cache = SpecCache(self.context, self.credential_source)
        # One lock per user and plugin, held by the credential sources alive for them (weakly
        # here, so an idle pair's lock goes with its last source).
        self._credential_locks: WeakValueDictionary[tuple[int, int], asyncio.Lock] = (
            WeakValueDictionary()
        )

    # The catalog (spec §2, §3, §7)
    async def add_plugin(self, url: str) -> PluginInfo:
        """Discover and check a plugin from a base URL, domain or manifest URL, and store it."""
        return await catalog.add_plugin(self.context, url)

    async def list_plugins(
        self, user_id: int, *, installed_only: bool = False, include_banned: bool = False
    ) -> list[StoreEntry]:
        """The store as `user_id` sees it: every plugin not banned, with their install state."""
        return await listing.list_plugins(
            self.context, user_id, installed_only=installed_only, include_banned=include_banned
        )

    async def tools(
        self, plugin_id: int, *, revalidate: bool = True, user_id: int | None = None
    ) -> CachedTools:
        """The plugin's tools for this turn, from the spec cache revalidated with the plugin.

        `user_id`: whose turn it is (an MCP server with per-user credentials is listed with
        that user's, and only for them).
        """
        return await self.spec_cache.tools(plugin_id, revalidate=revalidate, user_id=user_id)

    async def manifest(self, plugin_id: int) -> dict[str, Any]:  # Any: JSON values
        """The stored manifest of a plugin as it was read; NotFoundError when there is none."""
        return await catalog.manifest_of(self.context, plugin_id)

    async def refresh_plugin(self, plugin_id: int, *, user_id: int | None = None) -> PluginDiff:
        """Re-fetch a plugin and report what changed; auth or API host changes need re-consent.

        An MCP server is listed with the credential it needs: its service key, or the
        refreshing user's own (`user_id`) when each user has one.
        """
        if await mcp_servers.is_mcp_server(self.context, plugin_id):
            material = await self._listing_credentials(plugin_id, user_id)
            return await mcp_servers.refresh_mcp_server(
                self.context, plugin_id, headers=material.headers if material else None
            )
        return await catalog.refresh_plugin(self.context, plugin_id)

    async def _listing_credentials(
        self, plugin_id: int, user_id: int | None
    ) -> AuthMaterial | None:
        async with self.context.sessions() as session:
            auth_type = (await load_plugin(session, plugin_id)).auth_type
        if auth_type == "service_http":
            return await credentials.service_credentials(self.context, plugin_id)
        if auth_type in ("user_http", "oauth"):
            if user_id is None:
                raise RegistryError(
                    f"plugin {plugin_id} lists its tools for its users only",
                    where=f"plugin {plugin_id}",
                    fix="refresh it as a user who installed it",
                )
            return await self.credential_source(user_id, plugin_id).current()
        return None

    async def add_mcp_server(
        self,
        target: McpTarget,
        *,
        auth: mcp_servers.McpAuth = "none",
        adder_id: int | None = None,
        service_key: str | None = None,
    ) -> PluginInfo:
        """Check an MCP server and store it as a plugin (`auth`: none, each user's key, a
        service key, or OAuth; a server that asks for a credential without one is OAuth)."""
        return await mcp_servers.add_mcp_server(
            self.context, target, auth=auth, adder_id=adder_id, service_key=service_key
        )

    # Developers and admins (spec §4, §6)
    async def register(
        self,
        plugin_id: int,
        developer_id: int,
        *,
        service_key: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> str:
        """Register as the plugin's developer; returns the verification token to publish."""
        return await registration.register(
            self.context,
            plugin_id,
            developer_id,
            service_key=service_key,
            client_id=client_id,
            client_secret=client_secret,
        )

    async def verify_token(self, plugin_id: int) -> None:
        """Check the live manifest for the issued verification token."""
        await registration.verify_token(self.context, plugin_id)

    async def set_verified(self, plugin_id: int, verified: bool) -> None:
        """Admin: verify a plugin (lifts the install cap) or withdraw the verification."""
        await registration.set_verified(self.context, plugin_id, verified)

    async def ban(self, plugin_id: int, banned: bool = True) -> None:
        """Admin: ban a plugin, or lift the ban."""
        await registration.ban(self.context, plugin_id, banned)

    # Users (spec §4, §6, §7)
    async def install(self, user_id: int, plugin_id: int, *, user_key: str | None = None) -> None:
        """Install a plugin for a user (or renew consent); `user_key` for user_http plugins."""
        await installs.install(self.context, user_id, plugin_id, user_key=user_key)

    async def uninstall(self, user_id: int, plugin_id: int) -> None:
        """Remove a user's install and every credential of it."""
        await installs.uninstall(self.context, user_id, plugin_id)

    async def begin_oauth(self, user_id: int, plugin_id: int, session_id: str) -> str:
        """Start an OAuth sign-in; returns the provider URL for the user's browser."""
        return await oauth_flow.begin_oauth(self.context, user_id, plugin_id, session_id)

    async def finish_oauth(self, plugin_id: int, session_id: str, code: str, state: str) -> int:
        """Complete an OAuth sign-in from the callback; returns the user it signed in.

        An MCP server not listed yet (it lists for its users only) is listed with the new token.
        """
        user_id = await oauth_flow.finish_oauth(self.context, plugin_id, session_id, code, state)
        if await mcp_servers.is_mcp_server(self.context, plugin_id):
            try:
                await self.spec_cache.tools(plugin_id, revalidate=False, user_id=user_id)
            except PowerstripError as exc:
                logger.warning("registry.mcp_unlisted plugin=%s error=%s", plugin_id, exc.message)
        return user_id

    async def credentials_for(self, user_id: int, plugin_id: int) -> AuthMaterial:
        """The headers authenticating this user's calls to this plugin."""
        return await credentials.credentials_for(self.context, user_id, plugin_id)

    def credential_source(self, user_id: int, plugin_id: int) -> PluginCredentials:
        """The runtime's `CredentialSource` for this user and plugin (with refresh after 401)."""
        return PluginCredentials(self.context, user_id, plugin_id, self._lock(user_id, plugin_id))

    async def expiring_tokens(self, before: datetime) -> list[ExpiringToken]:
        """Users' OAuth tokens that expire before `before` and have a refresh token."""
        return await credentials.expiring_tokens(self.context, before)

    async def refresh_ahead(self, token: ExpiringToken) -> bool:
        """Renew a token found expiring, unless renewed meanwhile; True when renewed now."""
        return await credentials.refresh_ahead(
            self.context, token, self._lock(token.user_id, token.plugin_id)
        )

    def _lock(self, user_id: int, plugin_id: int) -> asyncio.Lock:
        key = (user_id, plugin_id)
        lock = self._credential_locks.get(key)
        if lock is None:
            lock = self._credential_locks[key] = asyncio.Lock()
        return lock

    # Conversations (spec §6)
    async def enable(self, conversation_id: str, plugin_id: int) -> None:
        """Enable an installed plugin in a conversation (at most 3 by default)."""
        await installs.enable(self.context, conversation_id, plugin_id)

    async def disable(self, conversation_id: str, plugin_id: int) -> None:
        """Disable a plugin in a conversation."""
        await installs.disable(self.context, conversation_id, plugin_id)
