"""`Plugins`: the plugin store as one acting user may use it.

Every edge (the REST API, the CLI, the web app, `/v1`, MCP) calls this service with the user it
acts for; the admin rule and the "is it there for you" rule live here, once, instead of in each
route. A plugin that does not exist, or that a non-admin may not see (banned), is the same
`NotFoundError` everywhere, so ids tell nobody anything.

    entries = await host.plugins.store(user)
    result = await host.plugins.install(user, plugin_id, user_key="...")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from powerstrip.errors import NotFoundError, PowerstripError, RegistryError
from powerstrip.host.sign_in_links import SignInLinks
from powerstrip.host.users import UserInfo, require_admin
from powerstrip.registry import PluginDiff, PluginInfo, Registry, StoreEntry, redirect_uri
from powerstrip.settings import Settings

__all__ = ["InstallResult", "OperationView", "Plugins", "Registration"]


@dataclass(frozen=True, slots=True)
class OperationView:
    """One operation of a plugin as the model sees it."""

    function_name: str
    operation_id: str
    method: str
    path: str
    description: str
    consequential: bool
    consequential_declared: bool | None  # None: the spec says nothing, so the host decided


@dataclass(frozen=True, slots=True)
class InstallResult:
    """What an install did: the sign-in link to open for OAuth plugins, and the operations.

    `warning` says why the operations could not be listed right now (the install itself is done).
    """

    plugin_id: int
    auth_type: str
    sign_in_url: str | None
    operations: tuple[str, ...]
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class Registration:
    """A developer's registration: the token to publish, and the manifest fragment carrying it."""

    plugin_id: int
    token: str
    publish_as: dict[str, Any] = field(default_factory=dict)  # Any: JSON values


class Plugins:
    """Add, list, install, sign in, refresh, register, verify and ban plugins for a user."""

    def __init__(self, registry: Registry, sign_in_links: SignInLinks, settings: Settings) -> None:
        self._registry = registry
        self._links = sign_in_links
        self._settings = settings

    # The store
    async def store(
        self, user: UserInfo, *, installed_only: bool = False, include_banned: bool = False
    ) -> list[StoreEntry]:
        """Every plugin not banned, with the user's install state.

        `include_banned` lists banned plugins too, for an admin (who may lift a ban); it is
        ignored for anyone else.
        """
        banned = include_banned and user.may("admin")
        return await self._registry.list_plugins(
            user.id, installed_only=installed_only, include_banned=banned
        )

    async def get(self, user: UserInfo, plugin_id: int) -> StoreEntry:
        """One plugin as the user sees it; NotFoundError when it is not there for them.

        An admin sees a banned plugin; anyone else is told it does not exist.
        """
        for entry in await self.store(user, include_banned=True):
            if entry.plugin.id == plugin_id:
                return entry
        raise _missing(plugin_id)

    async def add(self, user: UserInfo, url: str) -> PluginInfo:
        """Add a plugin to the store from its URL (checked first; a refused one adds nothing)."""
        del user  # any signed-in user may propose a plugin; installs are what the cap counts
        return await self._registry.add_plugin(url)

    async def refresh(self, user: UserInfo, plugin_id: int) -> PluginDiff:
        """Fetch the plugin again and report what changed."""
        await self.get(user, plugin_id)
        return await self._registry.refresh_plugin(plugin_id, user_id=user.id)

    async def operations(self, user: UserInfo, plugin_id: int) -> list[OperationView]:
        """The plugin's operations as the model sees them, with their consequential flag."""
        await self.get(user, plugin_id)
        tools = await self._registry.tools(plugin_id, revalidate=False)
        return [
            OperationView(
                function_name=tool.function_name,
                operation_id=tool.operation_id,
                method=tool.method.upper(),
                path=tool.path,
                description=tool.description,
                consequential=tool.consequential,
                consequential_declared=tool.consequential_declared,
            )
            for tool in tools.toolset.tools
        ]

    # Installs
    async def install(
        self, user: UserInfo, plugin_id: int, *, user_key: str | None = None
    ) -> InstallResult:
        """Install for the user (or renew consent); OAuth plugins answer with the sign-in link."""
        entry = await self.get(user, plugin_id)
        await self._registry.install(user.id, plugin_id, user_key=user_key)
        auth_type = entry.plugin.auth_type
        link = self._links.link(user.id, plugin_id) if auth_type == "oauth" else None
        # The install is done: a spec that cannot be had right now is a note, not a failure.
        try:
            # An MCP server that lists for its users only is listed with this user's key.
            tools = await self._registry.tools(plugin_id, revalidate=False, user_id=user.id)
        except PowerstripError as exc:
            return InstallResult(
                plugin_id, auth_type, link, (), f"the operations could not be listed now: {exc}"
            )
        names = tuple(tool.function_name for tool in tools.toolset.tools)
        return InstallResult(plugin_id, auth_type, link, names)

    async def uninstall(self, user: UserInfo, plugin_id: int) -> None:
        """Uninstall; the user's credentials for the plugin are deleted."""
        await self._installed(user, plugin_id)
        await self._registry.uninstall(user.id, plugin_id)

    async def sign_in_link(self, user: UserInfo, plugin_id: int) -> str:
        """A fresh sign-in link for an installed OAuth plugin."""
        entry = await self._installed(user, plugin_id)
        auth_type = entry.plugin.auth_type
        if auth_type != "oauth":
            raise RegistryError(
                f"plugin {plugin_id} uses {auth_type} auth: there is nothing to sign in to",
                where=f"plugin {plugin_id}",
                fix="only OAuth plugins need a sign-in",
            )
        return self._links.link(user.id, plugin_id)

    async def begin_oauth(self, user_id: int, plugin_id: int, session_id: str) -> str:
        """Start the sign-in a verified sign-in ticket names; returns the provider URL.

        Takes the ticket's user id: the browser following a sign-in link carries no API token.
        """
        return await self._registry.begin_oauth(user_id, plugin_id, session_id)

    async def finish_oauth(self, plugin_id: int, session_id: str, code: str, state: str) -> int:
        """Complete a sign-in from the provider's callback; returns the user it signed in."""
        return await self._registry.finish_oauth(plugin_id, session_id, code, state)

    async def sign_in_view(self, plugin_id: int) -> tuple[str, str]:
        """The plugin's human name and its sign-in provider's host, for the Continue page.

        Shown to a browser that holds a signed sign-in ticket but no API token.
        """
        manifest = await self._registry.manifest(plugin_id)
        name = str(manifest.get("name_for_human") or manifest.get("name_for_model") or "")
        auth = manifest.get("auth")
        client_url = str(auth.get("client_url") or "") if isinstance(auth, dict) else ""
        return name, urlsplit(client_url).netloc

    def redirect_uri(self, plugin_id: int) -> str:
        """The OAuth callback URL a plugin's provider must allow for this host."""
        return redirect_uri(self._settings.public_url, plugin_id)

    # Developers and admins
    async def register(
        self,
        user: UserInfo,
        plugin_id: int,
        *,
        service_key: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> Registration:
        """Register as the plugin's developer; publish the returned token in the manifest."""
        await self.get(user, plugin_id)
        token = await self._registry.register(
            plugin_id,
            user.id,
            service_key=service_key,
            client_id=client_id,
            client_secret=client_secret,
        )
        publish_as = {"auth": {"verification_tokens": {self._settings.verification_key: token}}}
        return Registration(plugin_id, token, publish_as)

    async def verify_token(self, user: UserInfo, plugin_id: int) -> None:
        """Check that the live manifest now carries the verification token."""
        await self.get(user, plugin_id)
        await self._registry.verify_token(plugin_id)

    async def set_verified(self, user: UserInfo, plugin_id: int, value: bool) -> None:
        """Admin: verify a plugin (lifts the install cap), or withdraw the verification."""
        require_admin(user)
        await self.get(user, plugin_id)
        await self._registry.set_verified(plugin_id, value)

    async def ban(self, user: UserInfo, plugin_id: int, value: bool = True) -> None:
        """Admin: ban a plugin (nobody may install, enable or call it), or lift the ban."""
        require_admin(user)
        await self.get(user, plugin_id)
        await self._registry.ban(plugin_id, value)

    async def _installed(self, user: UserInfo, plugin_id: int) -> StoreEntry:
        entry = await self.get(user, plugin_id)
        if not entry.installed:
            raise NotFoundError(
                f"plugin {plugin_id} is not installed for you",
                where=f"plugin {plugin_id}",
                fix="install the plugin first: its answer carries the sign-in link",
            )
        return entry


def _missing(plugin_id: int) -> NotFoundError:
    # The registry's words for an id it does not have: a banned plugin a non-admin may not
    # see reads the same, so the answer tells nothing about which ids exist.
    return NotFoundError(
        f"no plugin with id {plugin_id}",
        where="plugins",
        fix="add the plugin from its URL first, or use the id the plugin list shows",
    )
