"""What every registry rule works with: the store, the vault, the guarded client, the settings.

Also the row look-ups the rules share, each failing with a `RegistryError` that says which row is
missing, and the vault contexts that bind each sealed column to its row and field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from powerstrip.auth import Vault
from powerstrip.errors import NotFoundError, RegistryError
from powerstrip.net import GuardedClient
from powerstrip.settings import Settings
from powerstrip.store import Install, Plugin, Registration

__all__ = [
    "RegistryContext",
    "client_secret_context",
    "credential_context",
    "load_install",
    "load_plugin",
    "load_registration",
    "now",
    "plugin_not_found",
    "redirect_uri",
    "require_not_banned",
    "service_key_context",
    "verifier_context",
]


@dataclass(frozen=True, slots=True)
class RegistryContext:
    """The building blocks the registry is given; it owns no connection of its own."""

    sessions: async_sessionmaker[AsyncSession]
    vault: Vault
    client: GuardedClient
    settings: Settings


def redirect_uri(public_url: str, plugin_id: int) -> str:
    """Where the provider sends the user back: `PUBLIC_URL/aip/PLUGIN_ID/oauth/callback`."""
    return f"{public_url.rstrip('/')}/aip/{plugin_id}/oauth/callback"


def now() -> datetime:
    """The current time, timezone-aware UTC, as every store timestamp is."""
    return datetime.now(UTC)


# Vault contexts: a sealed value copied to another row or column does not open there.
def service_key_context(plugin_id: int) -> str:
    return f"registration:{plugin_id}:service_key"


def client_secret_context(plugin_id: int) -> str:
    return f"registration:{plugin_id}:oauth_client_secret"


def credential_context(user_id: int, plugin_id: int, field: str) -> str:
    return f"credential:{user_id}:{plugin_id}:{field}"


def verifier_context(state_hash: str) -> str:
    return f"oauth_state:{state_hash}:code_verifier"


async def load_plugin(session: AsyncSession, plugin_id: int, *, lock: bool = False) -> Plugin:
    """The plugin row; `lock` serialises writers that count its installs (PostgreSQL)."""
    statement = select(Plugin).where(Plugin.id == plugin_id)
    if lock:
        statement = statement.with_for_update()
    plugin = (await session.execute(statement)).scalar_one_or_none()
    if plugin is None:
        raise plugin_not_found(plugin_id)
    return plugin


def plugin_not_found(plugin_id: int) -> NotFoundError:
    """The error for a plugin id the store does not have."""
    return NotFoundError(
        f"no plugin with id {plugin_id}",
        where="plugins",
        fix="add the plugin from its URL first, or use the id the plugin list shows",
    )


async def load_registration(session: AsyncSession, plugin_id: int) -> Registration | None:
    """The developer's registration of a plugin, if any."""
    statement = select(Registration).where(Registration.plugin_id == plugin_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def load_install(session: AsyncSession, user_id: int, plugin_id: int) -> Install | None:
    """A user's install of a plugin, if any."""
    statement = select(Install).where(Install.user_id == user_id, Install.plugin_id == plugin_id)
    return (await session.execute(statement)).scalar_one_or_none()


def require_not_banned(plugin: Plugin) -> None:
    """Refuse any use of a banned plugin."""
    if plugin.banned:
        raise plugin_banned(plugin.id, plugin.name_for_model)


def plugin_banned(plugin_id: int, name_for_model: str) -> RegistryError:
    """The error for any use of a banned plugin."""
    return RegistryError(
        f"plugin {name_for_model!r} is banned",
        where=f"plugin {plugin_id}",
        fix="an admin banned it: it cannot be installed, enabled or called",
    )
