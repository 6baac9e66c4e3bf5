"""Each user's credentials for a plugin, as headers for a call (spec §4).

`credentials_for` answers for one user and one plugin only: the service key of a `service_http`
plugin (the same for everyone), the user's own key, or the user's OAuth access token, refreshed
first when expired. `PluginCredentials` is the runtime's `CredentialSource` over it, with the
refresh after a 401. A sealed value that does not open raises `VaultError`: never garbage.

`expiring_tokens` and `refresh_ahead` serve the host's refresh job, which renews OAuth tokens
shortly before they expire so no turn waits for the provider; the refresh on use stays as the
fallback.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from powerstrip.auth import TokenSet, authorization_header, refresh_tokens
from powerstrip.errors import OAuthError, RegistryError
from powerstrip.plugin import AuthType
from powerstrip.registry.context import (
    RegistryContext,
    client_secret_context,
    credential_context,
    load_install,
    plugin_banned,
    plugin_not_found,
    require_not_banned,
    service_key_context,
)
from powerstrip.registry.oauth_endpoints import oauth_endpoints
from powerstrip.runtime import AuthMaterial
from powerstrip.store import Credential, Install, Plugin, Registration, read_job, transaction

__all__ = [
    "ExpiringToken",
    "PluginCredentials",
    "credentials_for",
    "expiring_tokens",
    "refresh_ahead",
    "refresh_credentials",
    "service_credentials",
    "store_tokens",
]

logger = logging.getLogger(__name__)


async def store_tokens(
    ctx: RegistryContext, session: AsyncSession, user_id: int, plugin_id: int, tokens: TokenSet
) -> None:
    """Seal and keep a user's OAuth tokens for a plugin, replacing what was there."""
    statement = select(Credential).where(
        Credential.user_id == user_id, Credential.plugin_id == plugin_id
    )
    credential = (await session.execute(statement)).scalar_one_or_none()
    if credential is None:
        credential = Credential(user_id=user_id, plugin_id=plugin_id, kind="oauth")
        session.add(credential)
    credential.kind = "oauth"
    credential.secret_sealed = ctx.vault.seal(
        tokens.access_token, context=credential_context(user_id, plugin_id, "secret")
    )
    credential.refresh_sealed = (
        ctx.vault.seal(
            tokens.refresh_token, context=credential_context(user_id, plugin_id, "refresh")
        )
        if tokens.refresh_token
        else None
    )
    credential.token_type = tokens.token_type
    credential.scope = tokens.scope
    credential.expires_at = tokens.expires_at


@dataclass(frozen=True, slots=True)
class _Loaded:
    plugin: Plugin
    credential: Credential | None
    service_key_sealed: str | None
    client_id: str | None
    client_secret_sealed: str | None


async def _load(ctx: RegistryContext, user_id: int, plugin_id: int) -> _Loaded:
    # One query for the four rows (each is unique for its keys): every call of every turn asks
    # for credentials, and each statement is a round trip to the store.
    statement = (
        select(Plugin, Install, Credential, Registration)
        .outerjoin(Install, and_(Install.plugin_id == Plugin.id, Install.user_id == user_id))
        .outerjoin(
            Credential, and_(Credential.plugin_id == Plugin.id, Credential.user_id == user_id)
        )
        .outerjoin(Registration, Registration.plugin_id == Plugin.id)
        .where(Plugin.id == plugin_id)
        # The spec is not needed to authenticate a call, and is often most of the row.
        .options(defer(Plugin.spec_body))
    )
    async with ctx.sessions() as session:
        found = (await session.execute(statement)).one_or_none()
    if found is None:
        raise plugin_not_found(plugin_id)
    plugin, install, credential, registration = found
    require_not_banned(plugin)
    _require_installed(
        plugin.name_for_model,
        plugin_id,
        install is not None,
        install is not None and install.needs_reconsent,
    )
    _require_verified(
        plugin.name_for_model,
        plugin_id,
        AuthType(plugin.auth_type),
        registration.token_verified_at if registration else None,
    )
    return _Loaded(
        plugin=plugin,
        credential=credential,
        service_key_sealed=registration.service_key_sealed if registration else None,
        client_id=registration.oauth_client_id if registration else None,
        client_secret_sealed=registration.oauth_client_secret_sealed if registration else None,
    )


def _require_installed(name: str, plugin_id: int, installed: bool, needs_reconsent: bool) -> None:
    if not installed:
        raise RegistryError(
            f"plugin {name!r} is not installed for this user",
            where=f"plugin {plugin_id}",
            fix="install the plugin first",
        )
    if needs_reconsent:
        raise RegistryError(
            f"plugin {name!r} changed its auth or API host since install",
            where=f"plugin {plugin_id}",
            fix="install it again to consent to the change (and give new credentials)",
        )


def _require_verified(
    name: str, plugin_id: int, auth_type: AuthType, verified_at: datetime | None
) -> None:
    if auth_type in (AuthType.SERVICE_HTTP, AuthType.OAUTH) and verified_at is None:
        # Secrets registered by someone who never proved control of the manifest are not sent.
        raise RegistryError(
            f"plugin {name!r} has no verified developer registration",
            where=f"plugin {plugin_id}",
            fix="its developer must publish the verification token and verify it",
        )


def _material(auth_type: AuthType, authorization_type: str | None, secret: str) -> AuthMaterial:
    return AuthMaterial(
        headers=authorization_header(auth_type, authorization_type, secret), secrets=(secret,)
    )


async def service_credentials(ctx: RegistryContext, plugin_id: int) -> AuthMaterial:
    """The service key of a `service_http` plugin, for what is done for no one user (an MCP
    server's tool listing); RegistryError when none is registered and verified."""
    async with ctx.sessions() as session:
        plugin = await session.get(Plugin, plugin_id)
        registration = (
            await session.execute(select(Registration).where(Registration.plugin_id == plugin_id))
        ).scalar_one_or_none()
    if plugin is None:
        raise plugin_not_found(plugin_id)
    if (
        AuthType(plugin.auth_type) is not AuthType.SERVICE_HTTP
        or registration is None
        or registration.service_key_sealed is None
        or registration.token_verified_at is None
    ):
        raise RegistryError(
            f"plugin {plugin.name_for_model!r} has no verified service key",
            where=f"plugin {plugin_id}",
            fix="register the service key",
        )
    authorization_type = (plugin.manifest.get("auth") or {}).get("authorization_type")
    key = ctx.vault.open(registration.service_key_sealed, context=service_key_context(plugin_id))
    return _material(AuthType.SERVICE_HTTP, authorization_type, key)


# What a call needs to authenticate, read in one prebuilt statement of plain columns: every call
# of every turn asks, and building four ORM objects (the plugin's with its manifest) cost more
# than the query. The checks are `_load`'s, on the same rows.
_FOR_CALL = (
    select(
        Plugin.banned,
        Plugin.name_for_model,
        Plugin.auth_type,
        Plugin.manifest,
        Install.id.label("install_id"),
        Install.needs_reconsent,
        Credential.secret_sealed,
        Credential.token_type,
        Credential.expires_at,
        Registration.service_key_sealed,
        Registration.token_verified_at,
    )
    .select_from(Plugin)
    .outerjoin(
        Install, and_(Install.plugin_id == Plugin.id, Install.user_id == bindparam("user_id"))
    )
    .outerjoin(
        Credential,
        and_(Credential.plugin_id == Plugin.id, Credential.user_id == bindparam("user_id")),
    )
    .outerjoin(Registration, Registration.plugin_id == Plugin.id)
    .where(Plugin.id == bindparam("plugin_id"))
)


async def credentials_for(ctx: RegistryContext, user_id: int, plugin_id: int) -> AuthMaterial:
    """The headers that authenticate `user_id`'s calls to `plugin_id`, and their secrets."""
    params = {"user_id": user_id, "plugin_id": plugin_id}
    # One job: a single trip to SQLite's thread, no async layer per statement (store/jobs.py).
    row = await read_job(
        ctx.sessions, lambda connection: connection.execute(_FOR_CALL, params).one_or_none()
    )
    if row is None:
        raise plugin_not_found(plugin_id)
    name = row.name_for_model
    if row.banned:
        raise plugin_banned(plugin_id, name)
    _require_installed(name, plugin_id, row.install_id is not None, bool(row.needs_reconsent))
    auth_type = AuthType(row.auth_type)
    if auth_type is AuthType.NONE:
        return AuthMaterial(headers={})
    _require_verified(name, plugin_id, auth_type, row.token_verified_at)
    authorization_type = ((row.manifest or {}).get("auth") or {}).get("authorization_type")
    if auth_type is AuthType.SERVICE_HTTP:
        if row.service_key_sealed is None:
            raise RegistryError(
                f"plugin {name!r} has no service key registered",
                where=f"plugin {plugin_id}",
                fix="its developer must register the service key",
            )
        key = ctx.vault.open(row.service_key_sealed, context=service_key_context(plugin_id))
        return _material(auth_type, authorization_type, key)
    if row.secret_sealed is None:
        what = "sign in to" if auth_type is AuthType.OAUTH else "give your key for"
        raise RegistryError(
            f"no credentials stored for plugin {name!r}",
            where=f"plugin {plugin_id}",
            fix=f"{what} the plugin again",
        )
    secret = ctx.vault.open(
        row.secret_sealed, context=credential_context(user_id, plugin_id, "secret")
    )
    if auth_type is AuthType.OAUTH:
        tokens = TokenSet(secret, row.token_type or "Bearer", None, row.expires_at)
        if tokens.expired():
            material = await refresh_credentials(
                ctx, user_id, plugin_id, stale_sealed=row.secret_sealed
            )
            if material is None:
                raise OAuthError(
                    "the access token expired and could not be refreshed",
                    where=f"plugin {plugin_id}",
                    fix="sign in to the plugin again",
                )
            return material
    return _material(auth_type, authorization_type, secret)


async def refresh_credentials(
    ctx: RegistryContext, user_id: int, plugin_id: int, *, stale_sealed: str | None = None
) -> AuthMaterial | None:
    """New OAuth tokens for the user, or None when the scheme or the provider cannot renew them.

    `stale_sealed` is the sealed access token that failed: when another caller has already
    replaced it, the newer tokens are used instead of spending the refresh token twice.
    """
    loaded = await _load(ctx, user_id, plugin_id)
    plugin = loaded.plugin
    if AuthType(plugin.auth_type) is not AuthType.OAUTH or loaded.credential is None:
        return None
    current = loaded.credential
    context = credential_context(user_id, plugin_id, "secret")
    if stale_sealed is not None and current.secret_sealed != stale_sealed:
        access = ctx.vault.open(current.secret_sealed, context=context)
        return _material(AuthType.OAUTH, None, access)
    if current.refresh_sealed is None or not loaded.client_id:
        return None
    try:
        endpoints = oauth_endpoints(plugin)
    except RegistryError:
        return None
    if not loaded.client_secret_sealed and not endpoints.public_client:
        return None
    refresh_token = ctx.vault.open(
        current.refresh_sealed, context=credential_context(user_id, plugin_id, "refresh")
    )
    client_secret = (
        ctx.vault.open(loaded.client_secret_sealed, context=client_secret_context(plugin_id))
        if loaded.client_secret_sealed
        else None
    )
    try:
        tokens = await refresh_tokens(
            ctx.client,
            token_url=endpoints.token_url,
            content_type=endpoints.content_type,
            client_id=loaded.client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            origin=plugin.manifest_url,
            resource=endpoints.resource,
        )
    except OAuthError as exc:
        logger.info("registry.refresh_failed user=%s plugin=%s error=%s", user_id, plugin_id, exc)
        return None
    async with transaction(ctx.sessions) as session:
        if await load_install(session, user_id, plugin_id) is None:
            return None  # uninstalled meanwhile: keep nothing
        await store_tokens(ctx, session, user_id, plugin_id, tokens)
    logger.info("registry.tokens_refreshed user=%s plugin=%s", user_id, plugin_id)
    return _material(AuthType.OAUTH, None, tokens.access_token)


@dataclass(slots=True)
class PluginCredentials:
    """The runtime's `CredentialSource` for one user and one plugin.

    Reading and refreshing are serialised by `lock`, which the registry shares among every
    source of one user and plugin (each turn has its own source): concurrent turns and 401s
    spend a refresh token once, where a provider that rotates refresh tokens would refuse the
    second spender and send that user to sign in again.
    """

    ctx: RegistryContext
    user_id: int
    plugin_id: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def current(self) -> AuthMaterial:
        """The credentials to send now (an expired OAuth token is refreshed first)."""
        async with self.lock:
            return await credentials_for(self.ctx, self.user_id, self.plugin_id)

    async def refresh(self) -> AuthMaterial | None:
        """New credentials after a 401, or None when they cannot be renewed (sign in again)."""
        async with self.ctx.sessions() as session:
            statement = select(Credential).where(
                Credential.user_id == self.user_id, Credential.plugin_id == self.plugin_id
            )
            before = (await session.execute(statement)).scalar_one_or_none()
        async with self.lock:
            stale = before.secret_sealed if before is not None else None
            return await refresh_credentials(
                self.ctx, self.user_id, self.plugin_id, stale_sealed=stale
            )


@dataclass(frozen=True, slots=True)
class ExpiringToken:
    """A user's OAuth access token for a plugin that expires soon and can be refreshed."""

    user_id: int
    plugin_id: int
    expires_at: datetime


async def expiring_tokens(ctx: RegistryContext, before: datetime) -> list[ExpiringToken]:
    """OAuth tokens with a refresh token that expire before `before` (expired ones too)."""
    statement = (
        select(Credential.user_id, Credential.plugin_id, Credential.expires_at)
        .join(
            Install,
            and_(Install.user_id == Credential.user_id, Install.plugin_id == Credential.plugin_id),
        )
        .where(
            Credential.kind == "oauth",
            Credential.refresh_sealed.is_not(None),
            Credential.expires_at.is_not(None),
            Credential.expires_at < before,
            Install.needs_reconsent.is_(False),
        )
        .order_by(Credential.expires_at)
    )
    async with ctx.sessions() as session:
        rows = (await session.execute(statement)).all()
    return [
        ExpiringToken(user, plugin, expires)
        for user, plugin, expires in rows
        if expires is not None
    ]


async def refresh_ahead(ctx: RegistryContext, token: ExpiringToken, lock: asyncio.Lock) -> bool:
    """Refresh the token unless it changed since it was found; True when it was renewed.

    `lock` is the one the user's and plugin's credential sources share, so a turn refreshing
    the same token in this process waits rather than spending the refresh token twice.
    """
    async with lock:
        async with ctx.sessions() as session:
            statement = select(Credential).where(
                Credential.user_id == token.user_id, Credential.plugin_id == token.plugin_id
            )
            current = (await session.execute(statement)).scalar_one_or_none()
        if current is None or current.expires_at is None or _renewed(current.expires_at, token):
            return False  # signed out, or renewed by a turn or an earlier job
        material = await refresh_credentials(
            ctx, token.user_id, token.plugin_id, stale_sealed=current.secret_sealed
        )
        return material is not None


def _renewed(expires_at: datetime, token: ExpiringToken) -> bool:
    # The job carries the expiry as a float timestamp: equal within a millisecond is the same.
    return abs((expires_at - token.expires_at).total_seconds()) > 0.001
