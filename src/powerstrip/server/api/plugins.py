"""`/api/plugins`: the plugin store, installs, developer registration and admin review."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from powerstrip.host import StoreEntry
from powerstrip.server.deps import CurrentHost, CurrentUser
from powerstrip.server.errors import error_responses
from powerstrip.server.input_types import PluginId, Text

__all__ = ["router"]

router = APIRouter(prefix="/plugins", tags=["plugins"])

# Any below: JSON values (a manifest fragment).


class AddPlugin(BaseModel):
    url: Text = Field(description="The plugin's base URL, domain, or manifest URL.")


class InstallPlugin(BaseModel):
    user_key: Text | None = Field(
        default=None, description="Your own key, for `user_http` plugins only."
    )


class RegisterPlugin(BaseModel):
    service_key: Text | None = Field(default=None, description="For `service_http` plugins.")
    client_id: Text | None = Field(default=None, description="For `oauth` plugins.")
    client_secret: Text | None = Field(default=None, description="For `oauth` plugins.")


class SetFlag(BaseModel):
    value: bool = True


class PluginOut(BaseModel):
    """A plugin in the store, with your install state."""

    id: int
    name_for_model: str
    manifest_url: str
    api_base_url: str
    auth_type: str
    verified: bool
    banned: bool
    lenient: bool
    name_for_human: str
    description_for_human: str
    logo_url: str
    installed: bool
    needs_reconsent: bool
    install_count: int


class PluginList(BaseModel):
    plugins: list[PluginOut]


class AddedPlugin(BaseModel):
    id: int
    name_for_model: str
    manifest_url: str
    api_base_url: str
    auth_type: str
    verified: bool
    banned: bool
    lenient: bool


class RefreshReport(BaseModel):
    plugin_id: int
    changed: bool
    changed_fields: list[str]
    operations_added: list[str]
    operations_removed: list[str]
    operations_changed: list[str]
    auth_changed: bool
    api_host_changed: bool
    reconsent_required: int
    grants_removed: int


class Installed(BaseModel):
    plugin_id: int
    installed: bool = True
    sign_in_url: str | None = Field(
        default=None, description="OAuth plugins: open it to sign in to the plugin."
    )
    operations: list[str]
    warning: str | None = None


class SignInLink(BaseModel):
    sign_in_url: str


class Operation(BaseModel):
    function_name: str
    operation_id: str
    method: str
    path: str
    description: str
    consequential: bool
    consequential_declared: bool | None


class OperationList(BaseModel):
    operations: list[Operation]


class RegistrationOut(BaseModel):
    verification_token: str
    publish_as: dict[str, Any]


class Verified(BaseModel):
    plugin_id: int
    token_verified: bool


class VerifiedFlag(BaseModel):
    plugin_id: int
    verified: bool


class BannedFlag(BaseModel):
    plugin_id: int
    banned: bool


def _plugin_out(entry: StoreEntry) -> PluginOut:
    return PluginOut(
        **asdict(entry.plugin),
        name_for_human=entry.name_for_human,
        description_for_human=entry.description_for_human,
        logo_url=entry.logo_url,
        installed=entry.installed,
        needs_reconsent=entry.needs_reconsent,
        install_count=entry.install_count,
    )


@router.get("")
async def list_plugins(host: CurrentHost, user: CurrentUser, installed: bool = False) -> PluginList:
    """Every plugin in the store, with your install state (`?installed=true`: yours only)."""
    entries = await host.plugins.store(user, installed_only=installed)
    return PluginList(plugins=[_plugin_out(entry) for entry in entries])


@router.get("/{plugin_id}")
async def get_plugin(plugin_id: PluginId, host: CurrentHost, user: CurrentUser) -> PluginOut:
    """One plugin in the store, with your install state."""
    return _plugin_out(await host.plugins.get(user, plugin_id))


@router.post("", status_code=201)
async def add_plugin(body: AddPlugin, host: CurrentHost, user: CurrentUser) -> AddedPlugin:
    """Add a plugin to the store from its URL (it is checked first; a refused one adds nothing)."""
    return AddedPlugin(**asdict(await host.plugins.add(user, body.url)))


@router.post("/{plugin_id}/refresh")
async def refresh_plugin(
    plugin_id: PluginId, host: CurrentHost, user: CurrentUser
) -> RefreshReport:
    """Fetch the plugin again and report what changed."""
    diff = await host.plugins.refresh(user, plugin_id)
    return RefreshReport(**asdict(diff), changed=diff.changed)


@router.post("/{plugin_id}/install")
async def install(
    plugin_id: PluginId, host: CurrentHost, user: CurrentUser, body: InstallPlugin | None = None
) -> Installed:
    """Install for yourself; an OAuth plugin answers with the sign-in link to open."""
    result = await host.plugins.install(user, plugin_id, user_key=body.user_key if body else None)
    return Installed(
        plugin_id=result.plugin_id,
        sign_in_url=result.sign_in_url,
        operations=list(result.operations),
        warning=result.warning,
    )


@router.post("/{plugin_id}/sign-in")
async def sign_in(plugin_id: PluginId, host: CurrentHost, user: CurrentUser) -> SignInLink:
    """A fresh sign-in link for an installed OAuth plugin."""
    return SignInLink(sign_in_url=await host.plugins.sign_in_link(user, plugin_id))


@router.delete("/{plugin_id}/install", status_code=204)
async def uninstall(plugin_id: PluginId, host: CurrentHost, user: CurrentUser) -> None:
    """Uninstall; your credentials for the plugin are deleted."""
    await host.plugins.uninstall(user, plugin_id)


@router.get("/{plugin_id}/operations")
async def operations(plugin_id: PluginId, host: CurrentHost, user: CurrentUser) -> OperationList:
    """The plugin's operations as the model sees them, with their consequential flag."""
    views = await host.plugins.operations(user, plugin_id)
    return OperationList(operations=[Operation(**asdict(view)) for view in views])


@router.post("/{plugin_id}/registration")
async def register(
    plugin_id: PluginId, body: RegisterPlugin, host: CurrentHost, user: CurrentUser
) -> RegistrationOut:
    """Register as the plugin's developer; publish the returned token in the manifest."""
    registration = await host.plugins.register(
        user,
        plugin_id,
        service_key=body.service_key,
        client_id=body.client_id,
        client_secret=body.client_secret,
    )
    return RegistrationOut(
        verification_token=registration.token, publish_as=registration.publish_as
    )


@router.post("/{plugin_id}/registration/verify")
async def verify_token(plugin_id: PluginId, host: CurrentHost, user: CurrentUser) -> Verified:
    """Check that the live manifest now carries the verification token."""
    await host.plugins.verify_token(user, plugin_id)
    return Verified(plugin_id=plugin_id, token_verified=True)


@router.post("/{plugin_id}/verified", responses=error_responses(403))
async def set_verified(
    plugin_id: PluginId, body: SetFlag, host: CurrentHost, user: CurrentUser
) -> VerifiedFlag:
    """Admin: verify a plugin (lifts the install cap), or withdraw the verification."""
    await host.plugins.set_verified(user, plugin_id, body.value)
    return VerifiedFlag(plugin_id=plugin_id, verified=body.value)


@router.post("/{plugin_id}/banned", responses=error_responses(403))
async def set_banned(
    plugin_id: PluginId, body: SetFlag, host: CurrentHost, user: CurrentUser
) -> BannedFlag:
    """Admin: ban a plugin (nobody may install, enable or call it), or lift the ban."""
    await host.plugins.ban(user, plugin_id, body.value)
    return BannedFlag(plugin_id=plugin_id, banned=body.value)
