"""Installing, uninstalling, and enabling plugins in a conversation (spec §4, §6, §7).

An unverified plugin is installable by at most `unverified_install_cap` users; a banned one by
nobody; `service_http` and `oauth` plugins only once their developer's verification token is
verified. Each install records the auth and API host the user consented to.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from powerstrip.auth import check_key
from powerstrip.errors import NotFoundError, RegistryError
from powerstrip.openapi import namespaces_clash
from powerstrip.plugin import AuthType
from powerstrip.registry.catalog import api_host, auth_for_consent
from powerstrip.registry.context import (
    RegistryContext,
    credential_context,
    load_install,
    load_plugin,
    load_registration,
    require_not_banned,
)
from powerstrip.registry.mcp_servers import MCP_KEY
from powerstrip.store import (
    Conversation,
    ConversationPlugin,
    Credential,
    Grant,
    Install,
    OAuthState,
    Plugin,
    transaction,
)

__all__ = ["disable", "enable", "install", "uninstall"]

logger = logging.getLogger(__name__)


async def install(
    ctx: RegistryContext, user_id: int, plugin_id: int, *, user_key: str | None = None
) -> None:
    """Install a plugin for a user, or renew the consent of an existing install.

    `user_key` is required by (and only used for) `user_http` plugins; it is sealed at rest.
    A key HTTP could not carry as pasted raises `InvalidInputError` before anything changes.
    """
    if user_key:
        check_key("user_key", user_key)
    async with transaction(ctx.sessions) as session:
        plugin = await load_plugin(session, plugin_id, lock=True)
        require_not_banned(plugin)
        auth_type = AuthType(plugin.auth_type)
        existing = await load_install(session, user_id, plugin_id)
        if existing is None and not plugin.verified:
            await _check_cap(session, plugin, ctx.settings.unverified_install_cap)
        if auth_type in (AuthType.SERVICE_HTTP, AuthType.OAUTH):
            await _check_registered(session, plugin, auth_type)
        if auth_type is AuthType.USER_HTTP and not user_key:
            raise RegistryError(
                f"plugin {plugin.name_for_model!r} needs your own key (user_http)",
                where=f"plugin {plugin_id}",
                fix="paste the key the plugin's service gave you",
            )
        if auth_type is not AuthType.USER_HTTP and user_key:
            raise RegistryError(
                f"plugin {plugin.name_for_model!r} ({auth_type}) takes no user key",
                where=f"plugin {plugin_id}",
                fix="install it without a key",
            )
        consented = auth_for_consent(plugin.manifest.get("auth") or {})
        if existing is None:
            session.add(
                Install(
                    user_id=user_id,
                    plugin_id=plugin_id,
                    consented_auth=consented,
                    consented_api_host=api_host(plugin.api_base_url),
                )
            )
        else:
            existing.consented_auth = consented
            existing.consented_api_host = api_host(plugin.api_base_url)
            existing.needs_reconsent = False
        if user_key:
            await _store_user_key(ctx, session, user_id, plugin_id, user_key)
    logger.info("registry.install user=%s plugin=%s", user_id, plugin_id)


async def _check_cap(session: AsyncSession, plugin: Plugin, cap: int) -> None:
    # The plugin row is locked (PostgreSQL) so two installs cannot both take the last place.
    count = await session.scalar(
        select(func.count(func.distinct(Install.user_id))).where(Install.plugin_id == plugin.id)
    )
    if (count or 0) >= cap:
        raise RegistryError(
            f"plugin {plugin.name_for_model!r} is unverified and already installed by {cap} "
            "users; an admin can verify it",
            where=f"plugin {plugin.id}",
            fix="ask an admin to review and verify the plugin",
        )


async def _check_registered(session: AsyncSession, plugin: Plugin, auth_type: AuthType) -> None:
    registration = await load_registration(session, plugin.id)
    missing = (
        registration is None
        or (auth_type is AuthType.SERVICE_HTTP and registration.service_key_sealed is None)
        or (auth_type is AuthType.OAUTH and not registration.oauth_client_id)
        or (
            auth_type is AuthType.OAUTH
            and registration.oauth_client_secret_sealed is None
            # An MCP server's client is Powerstrip's own public one (PKCE, no secret).
            and MCP_KEY not in plugin.manifest
        )
    )
    if missing:
        raise RegistryError(
            f"plugin {plugin.name_for_model!r} ({auth_type}) is not registered by its developer "
            "yet, so users cannot install it",
            where=f"plugin {plugin.id}",
            fix="its developer must register it (service key or OAuth client) and publish the "
            "verification token",
        )
    if registration is not None and registration.token_verified_at is None:
        raise RegistryError(
            f"plugin {plugin.name_for_model!r} has not published its verification token yet, "
            "so users cannot install it",
            where=f"plugin {plugin.id}",
            fix="its developer must put the issued token in the manifest's verification_tokens "
            "and verify it",
        )


async def _store_user_key(
    ctx: RegistryContext, session: AsyncSession, user_id: int, plugin_id: int, user_key: str
) -> None:
    sealed = ctx.vault.seal(user_key, context=credential_context(user_id, plugin_id, "secret"))
    statement = select(Credential).where(
        Credential.user_id == user_id, Credential.plugin_id == plugin_id
    )
    credential = (await session.execute(statement)).scalar_one_or_none()
    if credential is None:
        session.add(
            Credential(user_id=user_id, plugin_id=plugin_id, kind="user_key", secret_sealed=sealed)
        )
        return
    credential.kind = "user_key"
    credential.secret_sealed = sealed
    credential.refresh_sealed = None
    credential.token_type = None
    credential.scope = None
    credential.expires_at = None


async def uninstall(ctx: RegistryContext, user_id: int, plugin_id: int) -> None:
    """Remove a user's install with its credentials, pending sign-ins, enablements and grants.

    The user's "always allow" grants for the plugin go too: they were consent to the plugin as
    installed then, and a reinstall (perhaps of a plugin that changed meanwhile) asks again.
    """
    async with transaction(ctx.sessions) as session:
        install_row = await load_install(session, user_id, plugin_id)
        if install_row is None:
            raise RegistryError(
                f"plugin {plugin_id} is not installed for this user",
                where=f"plugin {plugin_id}",
                fix="nothing to uninstall",
            )
        await session.execute(
            delete(Credential).where(
                Credential.user_id == user_id, Credential.plugin_id == plugin_id
            )
        )
        await session.execute(
            delete(OAuthState).where(
                OAuthState.user_id == user_id, OAuthState.plugin_id == plugin_id
            )
        )
        await session.execute(
            delete(Grant).where(Grant.user_id == user_id, Grant.plugin_id == plugin_id)
        )
        own_conversations = select(Conversation.id).where(Conversation.user_id == user_id)
        await session.execute(
            delete(ConversationPlugin).where(
                ConversationPlugin.plugin_id == plugin_id,
                ConversationPlugin.conversation_id.in_(own_conversations),
            )
        )
        await session.delete(install_row)
    logger.info("registry.uninstall user=%s plugin=%s", user_id, plugin_id)


async def enable(ctx: RegistryContext, conversation_id: str, plugin_id: int) -> None:
    """Enable an installed plugin in a conversation, at most `max_plugins_per_conversation`."""
    limit = ctx.settings.max_plugins_per_conversation
    async with transaction(ctx.sessions) as session:
        statement = select(Conversation).where(Conversation.id == conversation_id).with_for_update()
        conversation = (await session.execute(statement)).scalar_one_or_none()
        if conversation is None:
            # The same kind as everywhere else a conversation is missing (a 404 at the edges).
            raise NotFoundError(
                f"no conversation {conversation_id}",
                where="conversations",
                fix="start the conversation first",
            )
        plugin = await load_plugin(session, plugin_id)
        require_not_banned(plugin)
        install_row = await load_install(session, conversation.user_id, plugin_id)
        if install_row is None:
            raise RegistryError(
                f"plugin {plugin.name_for_model!r} is not installed",
                where=f"conversation {conversation_id}",
                fix="install the plugin before enabling it",
            )
        if install_row.needs_reconsent:
            raise RegistryError(
                f"plugin {plugin.name_for_model!r} changed its auth or API host",
                where=f"plugin {plugin_id}",
                fix="install it again to consent to the change",
            )
        enabled = set(
            (
                await session.execute(
                    select(ConversationPlugin.plugin_id).where(
                        ConversationPlugin.conversation_id == conversation_id
                    )
                )
            )
            .scalars()
            .all()
        )
        if plugin_id in enabled:
            return
        await _refuse_namespace_clash(session, plugin, enabled, conversation_id)
        if len(enabled) >= limit:
            raise RegistryError(
                f"a conversation may enable at most {limit} plugins, and {len(enabled)} are "
                "enabled",
                where=f"conversation {conversation_id}",
                fix="disable a plugin first",
            )
        session.add(ConversationPlugin(conversation_id=conversation_id, plugin_id=plugin_id))
    logger.info("registry.enable conversation=%s plugin=%s", conversation_id, plugin_id)


async def _refuse_namespace_clash(
    session: AsyncSession, plugin: Plugin, enabled: set[int], conversation_id: str
) -> None:
    """Refuse `plugin` when its namespace clashes with an enabled plugin's (DESIGN.md).

    Two plugins under one `name_for_model` give the model duplicate function names, and the
    calls meant for one reach the other.
    """
    if not enabled:
        return
    others = (
        await session.execute(
            select(Plugin.id, Plugin.name_for_model).where(Plugin.id.in_(enabled))
        )
    ).all()
    for other_id, other_name in others:
        if namespaces_clash(plugin.name_for_model, other_name):
            raise RegistryError(
                f"plugin {plugin.id} ({plugin.name_for_model!r}) cannot be enabled beside "
                f"plugin {other_id} ({other_name!r}): their function names would clash",
                where=f"conversation {conversation_id}",
                fix=f"disable plugin {other_id} first, or use another conversation",
            )


async def disable(ctx: RegistryContext, conversation_id: str, plugin_id: int) -> None:
    """Disable a plugin in a conversation (nothing happens when it was not enabled)."""
    async with transaction(ctx.sessions) as session:
        await session.execute(
            delete(ConversationPlugin).where(
                ConversationPlugin.conversation_id == conversation_id,
                ConversationPlugin.plugin_id == plugin_id,
            )
        )
    logger.info("registry.disable conversation=%s plugin=%s", conversation_id, plugin_id)
