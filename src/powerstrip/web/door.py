"""The one place the web app reaches past the host's services: the plugin store's operations.

Everything here has the shape of the coming `host.plugins` service (the acting user first, the
ownership and admin checks inside), so when that service lands these become one-line calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from powerstrip.check import CheckReport, check_url
from powerstrip.errors import AccessError, NotFoundError, PowerstripError, RegistryError
from powerstrip.host import Host, UserInfo, issue_token
from powerstrip.registry import PluginDiff, PluginInfo, StoreEntry
from powerstrip.store import ApiToken, User, transaction

__all__ = ["InstallResult", "OperationView", "PluginDoor", "Registration", "TokenInfo", "UserRow"]


@dataclass(frozen=True, slots=True)
class InstallResult:
    plugin_id: int
    sign_in_url: str | None
    operations: tuple[str, ...]
    warning: str | None


@dataclass(frozen=True, slots=True)
class OperationView:
    function_name: str
    operation_id: str
    method: str
    path: str
    description: str
    consequential: bool
    consequential_declared: bool | None


@dataclass(frozen=True, slots=True)
class Registration:
    token: str
    publish_as: dict[str, object]


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    username: str
    is_admin: bool
    created_at: datetime


def _admin(user: UserInfo) -> None:
    if not user.is_admin:
        raise AccessError(
            "only an admin may do this", where=f"user {user.username}", fix="ask an admin"
        )


class PluginDoor:
    """The plugin store for one acting user at a time, over `host.registry`."""

    def __init__(self, host: Host) -> None:
        self.host = host

    async def store(
        self, user: UserInfo, *, installed_only: bool = False, include_banned: bool = False
    ) -> list[StoreEntry]:
        return await self.host.registry.list_plugins(
            user.id, installed_only=installed_only, include_banned=include_banned and user.is_admin
        )

    async def get(self, user: UserInfo, plugin_id: int) -> StoreEntry:
        for entry in await self.store(user, include_banned=user.is_admin):
            if entry.plugin.id == plugin_id:
                return entry
        raise NotFoundError(
            f"no plugin {plugin_id}", where="plugins", fix="open the plugin store to see them"
        )

    async def add(self, user: UserInfo, url: str) -> PluginInfo:
        return await self.host.registry.add_plugin(url)

    async def check(self, user: UserInfo, url: str) -> CheckReport:
        """`powerstrip check`'s report on a plugin URL, before anything is stored."""
        return await check_url(url, self.host.client, dev_mode=self.host.settings.dev_mode)

    async def install(
        self, user: UserInfo, plugin_id: int, *, user_key: str | None = None
    ) -> InstallResult:
        entry = await self.get(user, plugin_id)
        await self.host.registry.install(user.id, plugin_id, user_key=user_key)
        sign_in = (
            self.host.sign_in_links.link(user.id, plugin_id)
            if entry.plugin.auth_type == "oauth"
            else None
        )
        try:
            tools = await self.host.registry.tools(plugin_id, revalidate=False)
        except PowerstripError as exc:
            return InstallResult(
                plugin_id, sign_in, (), f"the operations could not be listed: {exc}"
            )
        return InstallResult(
            plugin_id, sign_in, tuple(t.function_name for t in tools.toolset.tools), None
        )

    async def uninstall(self, user: UserInfo, plugin_id: int) -> None:
        await self.host.registry.uninstall(user.id, plugin_id)

    async def sign_in_link(self, user: UserInfo, plugin_id: int) -> str:
        entry = await self.get(user, plugin_id)
        if not entry.installed:
            raise NotFoundError(
                f"plugin {plugin_id} is not installed for you",
                where=f"plugin {plugin_id}",
                fix="install the plugin first",
            )
        if entry.plugin.auth_type != "oauth":
            raise RegistryError(
                f"plugin {plugin_id} uses {entry.plugin.auth_type} auth: there is no sign-in",
                where=f"plugin {plugin_id}",
                fix="only OAuth plugins need a sign-in",
            )
        return self.host.sign_in_links.link(user.id, plugin_id)

    async def refresh(self, user: UserInfo, plugin_id: int) -> PluginDiff:
        await self.get(user, plugin_id)
        return await self.host.registry.refresh_plugin(plugin_id)

    async def operations(self, user: UserInfo, plugin_id: int) -> list[OperationView]:
        await self.get(user, plugin_id)
        tools = await self.host.registry.tools(plugin_id, revalidate=False)
        return [
            OperationView(
                t.function_name,
                t.operation_id,
                t.method.upper(),
                t.path,
                t.description,
                t.consequential,
                t.consequential_declared,
            )
            for t in tools.toolset.tools
        ]

    async def register(
        self,
        user: UserInfo,
        plugin_id: int,
        *,
        service_key: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> Registration:
        await self.get(user, plugin_id)
        token = await self.host.registry.register(
            plugin_id,
            user.id,
            service_key=service_key,
            client_id=client_id,
            client_secret=client_secret,
        )
        key = self.host.settings.verification_key
        return Registration(token, {"auth": {"verification_tokens": {key: token}}})

    async def verify_token(self, user: UserInfo, plugin_id: int) -> None:
        await self.get(user, plugin_id)
        await self.host.registry.verify_token(plugin_id)

    async def set_verified(self, user: UserInfo, plugin_id: int, value: bool) -> None:
        _admin(user)
        await self.host.registry.set_verified(plugin_id, value)

    async def ban(self, user: UserInfo, plugin_id: int, value: bool) -> None:
        _admin(user)
        await self.host.registry.ban(plugin_id, value)

    # -- users and API tokens (host.users once it lands) -------------------------------------

    async def users(self, actor: UserInfo) -> list[UserRow]:
        _admin(actor)
        async with self.host.sessions() as session:
            rows = (await session.execute(select(User).order_by(User.id))).scalars().all()
        return [UserRow(r.id, r.username, r.is_admin, r.created_at) for r in rows]

    async def issue_token(self, user: UserInfo, *, name: str = "") -> str:
        return await issue_token(self.host.sessions, user.id, name)

    async def tokens(self, user: UserInfo) -> list[TokenInfo]:
        async with self.host.sessions() as session:
            rows = (
                (
                    await session.execute(
                        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
                    )
                )
                .scalars()
                .all()
            )
        return [TokenInfo(r.id, r.name, r.created_at, r.last_used_at) for r in rows]

    async def revoke_token(self, user: UserInfo, token_id: int) -> None:
        async with transaction(self.host.sessions) as session:
            result = await session.execute(
                delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                raise NotFoundError(
                    f"no API token {token_id}", where="tokens", fix="list your tokens to see them"
                )
