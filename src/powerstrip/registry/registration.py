"""A developer's registration of a plugin (spec §4) and the admin's verify and ban.

The developer pastes the service key or the OAuth client; the host issues a verification token
that the developer publishes in the manifest's `verification_tokens`, and the host checks the live
manifest for it before users may install a plugin whose scheme needs the registration.
"""

from __future__ import annotations

import hmac
import logging
import secrets

from powerstrip.auth import check_key
from powerstrip.check import check_url
from powerstrip.errors import RegistryError
from powerstrip.plugin import AuthType
from powerstrip.registry.context import (
    RegistryContext,
    client_secret_context,
    load_plugin,
    load_registration,
    now,
    service_key_context,
)
from powerstrip.registry.mcp_servers import MCP_KEY
from powerstrip.store import Registration, transaction

__all__ = ["ban", "register", "set_verified", "verify_token"]

logger = logging.getLogger(__name__)

_TOKEN_BYTES = 24


async def register(
    ctx: RegistryContext,
    plugin_id: int,
    developer_id: int,
    *,
    service_key: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> str:
    """Register as the plugin's developer: seal its secrets and return a new verification token.

    Registering again (same developer) replaces the secrets; a verified developer keeps the
    verification and its token, anyone else gets a new token to publish and verify. Another user
    may take over a registration only while its token is unverified: until someone proves
    control of the manifest by publishing the token, nobody owns the plugin, so a stranger who
    registers first cannot lock out its developer. A secret HTTP could not carry as pasted
    raises `InvalidInputError` before anything changes.
    """
    for field, value in (
        ("service_key", service_key),
        ("client_id", client_id),
        ("client_secret", client_secret),
    ):
        if value:
            check_key(field, value)
    async with transaction(ctx.sessions) as session:
        plugin = await load_plugin(session, plugin_id)
        if MCP_KEY in plugin.manifest:
            raise RegistryError(
                f"plugin {plugin.name_for_model!r} is an MCP server: it has no developer "
                "registration (its key is given when it is added, its OAuth client is "
                "Powerstrip's own)",
                where=f"plugin {plugin_id}",
                fix="add the server again with --service-key, or let users sign in",
            )
        auth_type = AuthType(plugin.auth_type)
        _check_secrets(plugin.name_for_model, auth_type, service_key, client_id, client_secret)
        registration = await load_registration(session, plugin_id)
        if (
            registration is not None
            and registration.developer_id not in (None, developer_id)
            and registration.token_verified_at is not None
        ):
            raise RegistryError(
                f"plugin {plugin.name_for_model!r} is registered by another developer, who "
                "published its verification token",
                where=f"plugin {plugin_id}",
                fix="ask that developer, or an admin, to change the registration",
            )
        if registration is None:
            registration = Registration(plugin_id=plugin_id, verification_token="")
            session.add(registration)
        # The verified developer changing secrets keeps the verification: resetting it would
        # reopen the registration to anyone until the new token is published.
        keep = registration.developer_id == developer_id and bool(registration.token_verified_at)
        registration.developer_id = developer_id
        if not keep:
            registration.verification_token = secrets.token_urlsafe(_TOKEN_BYTES)
            registration.token_verified_at = None
        registration.service_key_sealed = (
            ctx.vault.seal(service_key, context=service_key_context(plugin_id))
            if service_key
            else None
        )
        registration.oauth_client_id = client_id
        registration.oauth_client_secret_sealed = (
            ctx.vault.seal(client_secret, context=client_secret_context(plugin_id))
            if client_secret
            else None
        )
        token = registration.verification_token
    logger.info("registry.register plugin=%s developer=%s", plugin_id, developer_id)
    return token


def _check_secrets(
    name: str,
    auth_type: AuthType,
    service_key: str | None,
    client_id: str | None,
    client_secret: str | None,
) -> None:
    where = f"plugin {name!r} ({auth_type})"
    if auth_type is AuthType.SERVICE_HTTP and not service_key:
        raise RegistryError(
            "a service_http plugin needs its service key", where=where, fix="pass service_key"
        )
    if auth_type is AuthType.OAUTH and not (client_id and client_secret):
        raise RegistryError(
            "an oauth plugin needs its OAuth client id and secret",
            where=where,
            fix="pass client_id and client_secret as the plugin's OAuth provider issued them",
        )
    unused = [
        name
        for name, value, used_by in (
            ("service_key", service_key, AuthType.SERVICE_HTTP),
            ("client_id", client_id, AuthType.OAUTH),
            ("client_secret", client_secret, AuthType.OAUTH),
        )
        if value and auth_type is not used_by
    ]
    if unused:
        raise RegistryError(
            f"{', '.join(unused)} has no use for a {auth_type} plugin",
            where=where,
            fix="pass only the secrets the plugin's auth scheme uses",
        )


async def verify_token(ctx: RegistryContext, plugin_id: int) -> None:
    """Check that the live manifest publishes the issued token; mark the registration verified."""
    async with ctx.sessions() as session:
        plugin = await load_plugin(session, plugin_id)
        registration = await load_registration(session, plugin_id)
    if registration is None:
        raise RegistryError(
            f"plugin {plugin.name_for_model!r} is not registered",
            where=f"plugin {plugin_id}",
            fix="register the plugin first: registration issues the verification token",
        )
    key = ctx.settings.verification_key
    where_to_put = (
        f'put "verification_tokens": {{"{key}": "{registration.verification_token}"}} in the '
        f"`auth` object of {plugin.manifest_url}, then verify again"
    )
    report = await check_url(plugin.manifest_url, ctx.client, dev_mode=ctx.settings.dev_mode)
    if report.manifest is None:
        raise RegistryError(
            "the live manifest could not be read",
            where=plugin.manifest_url,
            fix=f"run `powerstrip check {plugin.manifest_url}`",
        )
    if AuthType(report.manifest.auth.type) not in (AuthType.SERVICE_HTTP, AuthType.OAUTH):
        raise RegistryError(
            f"a {report.manifest.auth.type} manifest has no verification_tokens",
            where=plugin.manifest_url,
            fix="only service_http and oauth plugins publish a verification token",
        )
    published = report.manifest.verification_token(key)
    if published is None or not hmac.compare_digest(
        published.encode(), registration.verification_token.encode()
    ):
        found = "a different token" if published else "no token"
        raise RegistryError(
            f"the live manifest carries {found} for this host under auth.verification_tokens",
            where=plugin.manifest_url,
            fix=where_to_put,
        )
    async with transaction(ctx.sessions) as session:
        current = await load_registration(session, plugin_id)
        # A registration replaced meanwhile issued another token: this check does not cover it.
        if current is None or current.verification_token != registration.verification_token:
            raise RegistryError(
                "the registration changed while its token was being verified",
                where=f"plugin {plugin_id}",
                fix="verify again",
            )
        current.token_verified_at = now()
    logger.info("registry.token_verified plugin=%s", plugin_id)


async def set_verified(ctx: RegistryContext, plugin_id: int, verified: bool) -> None:
    """Admin: mark a plugin verified (no install cap) or not."""
    async with transaction(ctx.sessions) as session:
        plugin = await load_plugin(session, plugin_id)
        plugin.verified = verified
    logger.info("registry.set_verified plugin=%s verified=%s", plugin_id, verified)


async def ban(ctx: RegistryContext, plugin_id: int, banned: bool = True) -> None:
    """Admin: ban a plugin (nobody may install, enable or call it), or lift the ban."""
    async with transaction(ctx.sessions) as session:
        plugin = await load_plugin(session, plugin_id)
        plugin.banned = banned
    logger.info("registry.ban plugin=%s banned=%s", plugin_id, banned)
