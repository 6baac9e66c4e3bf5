"""The plugin store's rules (DESIGN.md): add and refresh plugins, register and verify them,
install with the unverified-plugin cap, OAuth sign-in, per-user credentials, and the
plugins-per-conversation limit. No HTTP of its own: it uses the `GuardedClient` it is given.

    registry = Registry(sessions, vault, client, settings)
    plugin = await registry.add_plugin("https://todo.example.com")
    await registry.install(user_id, plugin.id)
    headers = (await registry.credentials_for(user_id, plugin.id)).headers
"""

from powerstrip.registry.catalog import LENIENT_CODES, PluginDiff, PluginInfo
from powerstrip.registry.credentials import ExpiringToken, PluginCredentials
from powerstrip.registry.listing import StoreEntry
from powerstrip.registry.oauth_flow import redirect_uri
from powerstrip.registry.service import Registry
from powerstrip.registry.spec_cache import CachedTools

__all__ = [
    "LENIENT_CODES",
    "CachedTools",
    "ExpiringToken",
    "PluginCredentials",
    "PluginDiff",
    "PluginInfo",
    "Registry",
    "StoreEntry",
    "redirect_uri",
]
