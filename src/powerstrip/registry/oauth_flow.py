"""The registry's side of a user's OAuth sign-in (spec §4).

`begin_oauth` stores only the state's hash, the sealed PKCE verifier and an expiry, bound to the
user's session; `finish_oauth` accepts a state once, from that session, before it expires, and
only then trades the code for tokens. A refused state writes nothing.
"""

from __future__ import annotations

import hmac
import logging
from datetime import timedelta

from sqlalchemy import delete, update

from powerstrip.auth import authorization_url, exchange_code, new_pkce, new_state, state_hash
from powerstrip.errors import OAuthError, RegistryError
from powerstrip.registry.context import (
    RegistryContext,
    client_secret_context,
    load_install,
    load_plugin,
    load_registration,
    now,
    redirect_uri,
    require_not_banned,
    verifier_context,
)
from powerstrip.registry.credentials import store_tokens
from powerstrip.registry.oauth_endpoints import oauth_endpoints
from powerstrip.store import OAuthState, transaction

__all__ = ["begin_oauth", "finish_oauth", "redirect_uri"]

logger = logging.getLogger(__name__)

_STATE_REFUSED = "the sign-in link is not valid"
_START_AGAIN = "start the sign-in again from the plugin's install page"


async def begin_oauth(ctx: RegistryContext, user_id: int, plugin_id: int, session_id: str) -> str:
    """Start a sign-in: the provider URL to send the user's browser to."""
    if not session_id:
        raise OAuthError("a sign-in needs the user's session id", fix="sign in to the host first")
    state = new_state()
    verifier, challenge = new_pkce()
    hashed = state_hash(state)
    redirect = redirect_uri(ctx.settings.public_url, plugin_id)
    async with transaction(ctx.sessions) as session:
        plugin = await load_plugin(session, plugin_id)
        require_not_banned(plugin)
        endpoints = oauth_endpoints(plugin)
        if await load_install(session, user_id, plugin_id) is None:
            raise RegistryError(
                f"plugin {plugin.name_for_model!r} is not installed for this user",
                where=f"plugin {plugin_id}",
                fix="install the plugin, then sign in",
            )
        registration = await load_registration(session, plugin_id)
        if registration is None or not registration.oauth_client_id:
            raise RegistryError(
                f"plugin {plugin.name_for_model!r} has no OAuth client registered",
                where=f"plugin {plugin_id}",
                fix="its developer must register the OAuth client id and secret",
            )
        # Expired sign-ins are of no use to anyone: sweep them while here.
        await session.execute(delete(OAuthState).where(OAuthState.expires_at < now()))
        session.add(
            OAuthState(
                state_hash=hashed,
                user_id=user_id,
                plugin_id=plugin_id,
                session_id=session_id,
                code_verifier_sealed=ctx.vault.seal(verifier, context=verifier_context(hashed)),
                redirect_uri=redirect,
                expires_at=now() + timedelta(seconds=ctx.settings.oauth_state_ttl_seconds),
            )
        )
        client_id = registration.oauth_client_id
    logger.info("registry.oauth_begin user=%s plugin=%s", user_id, plugin_id)
    return authorization_url(
        endpoints.client_url,
        client_id=client_id,
        scope=endpoints.scope,
        state=state,
        redirect_uri=redirect,
        code_challenge=challenge,
        resource=endpoints.resource,
    )


async def finish_oauth(
    ctx: RegistryContext, plugin_id: int, session_id: str, code: str, state: str
) -> int:
    """Complete a sign-in from the provider's redirect; returns the user id it signed in.

    The state is spent before the code exchange, so a replay during the exchange fails too; a
    failed exchange leaves the state spent and no tokens stored.
    """
    hashed = state_hash(state)
    async with transaction(ctx.sessions) as session:
        row = await session.get(OAuthState, hashed)
        if (
            row is None
            or row.plugin_id != plugin_id
            or not hmac.compare_digest(row.session_id.encode(), session_id.encode())
        ):
            raise OAuthError(_STATE_REFUSED, where=f"plugin {plugin_id}", fix=_START_AGAIN)
        if row.used_at is not None:
            raise OAuthError(
                "the sign-in link was already used", where=f"plugin {plugin_id}", fix=_START_AGAIN
            )
        if row.expires_at <= now():
            raise OAuthError(
                "the sign-in link expired", where=f"plugin {plugin_id}", fix=_START_AGAIN
            )
        spent = await session.execute(
            update(OAuthState)
            .where(OAuthState.state_hash == hashed, OAuthState.used_at.is_(None))
            .values(used_at=now())
        )
        if getattr(spent, "rowcount", 0) != 1:  # a concurrent finish won the race
            raise OAuthError(
                "the sign-in link was already used", where=f"plugin {plugin_id}", fix=_START_AGAIN
            )
        user_id, redirect = row.user_id, row.redirect_uri
        verifier = ctx.vault.open(row.code_verifier_sealed, context=verifier_context(hashed))
        plugin = await load_plugin(session, plugin_id)
        registration = await load_registration(session, plugin_id)
    endpoints = oauth_endpoints(plugin)
    if (
        registration is None
        or not registration.oauth_client_id
        or (registration.oauth_client_secret_sealed is None and not endpoints.public_client)
    ):
        raise OAuthError(
            "the plugin no longer has an OAuth client registered",
            where=f"plugin {plugin_id}",
            fix="its developer must register the OAuth client again",
        )
    client_secret = (
        ctx.vault.open(
            registration.oauth_client_secret_sealed, context=client_secret_context(plugin_id)
        )
        if registration.oauth_client_secret_sealed is not None
        else None
    )
    tokens = await exchange_code(
        ctx.client,
        token_url=endpoints.token_url,
        content_type=endpoints.content_type,
        client_id=registration.oauth_client_id,
        client_secret=client_secret,
        code=code,
        redirect_uri=redirect,
        code_verifier=verifier,
        origin=plugin.manifest_url,
        resource=endpoints.resource,
    )
    async with transaction(ctx.sessions) as session:
        install = await load_install(session, user_id, plugin_id)
        if install is None:
            raise OAuthError(
                "the plugin was uninstalled during the sign-in",
                where=f"plugin {plugin_id}",
                fix="install the plugin and sign in again",
            )
        await store_tokens(ctx, session, user_id, plugin_id, tokens)
    logger.info("registry.oauth_finish user=%s plugin=%s", user_id, plugin_id)
    return user_id
