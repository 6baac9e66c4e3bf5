"""`/api/plugins`: the plugin store, installs, developer registration and admin review."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from powerstrip.errors import NotFoundError, PowerstripError, RegistryError
from powerstrip.server.deps import Admin, CurrentHost, CurrentUser
from powerstrip.server.errors import error_responses
from powerstrip.server.input_types import PluginId, Text

__all__ = ["router"]

router = APIRouter(prefix="/plugins", tags=["plugins"])

# Any below: JSON answers.


class AddPlugin(BaseModel):
    url: Text = Field(description="The plugin's base URL, domain, or manifest URL.")


class AddMcpServer(BaseModel):
    url: Text | None = Field(
        default=None, description="The MCP server's streamable-HTTP endpoint (https://.../mcp)."
    )
    command: list[Text] = Field(
        default_factory=list,
        max_length=64,
        description="Admins, with POWERSTRIP_MCP_ALLOW_COMMANDS: a local command (stdio) to run.",
    )
    user_key: bool = Field(
        default=False, description="Each user installs it with their own key (sent as bearer)."
    )


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


@router.get("")
async def list_plugins(host: CurrentHost, user: CurrentUser, installed: bool = False) -> Any:
    """Every plugin in the store, with your install state (`?installed=true`: yours only)."""
    entries = await host.registry.list_plugins(user.id, installed_only=installed)
    return {
        "plugins": [
            asdict(entry.plugin)
            | {
                "name_for_human": entry.name_for_human,
                "description_for_human": entry.description_for_human,
                "logo_url": entry.logo_url,
                "installed": entry.installed,
                "needs_reconsent": entry.needs_reconsent,
                "install_count": entry.install_count,
            }
            for entry in entries
        ]
    }


@router.post("", status_code=201)
async def add_plugin(body: AddPlugin, host: CurrentHost, user: CurrentUser) -> Any:
    """Add a plugin to the store from its URL (it is checked first; a refused one adds nothing)."""
    return asdict(await host.registry.add_plugin(body.url))


@router.post("/mcp", status_code=201)
async def add_mcp_server(body: AddMcpServer, host: CurrentHost, user: CurrentUser) -> Any:
    """Add an MCP server to the store as a plugin (its tools are checked first)."""
    added = await host.mcp_servers.add(
        user, url=body.url, command=body.command, user_key=body.user_key
    )
    return asdict(added)


@router.post("/{plugin_id}/refresh")
async def refresh_plugin(plugin_id: PluginId, host: CurrentHost, user: CurrentUser) -> Any:
    """Fetch the plugin again and report what changed."""
    diff = await host.registry.refresh_plugin(plugin_id)
    return asdict(diff) | {"changed": diff.changed}


@router.post("/{plugin_id}/install")
async def install(
    plugin_id: PluginId, host: CurrentHost, user: CurrentUser, body: InstallPlugin | None = None
) -> Any:
    """Install for yourself; an OAuth plugin answers with the sign-in link to open."""
    await host.registry.install(user.id, plugin_id, user_key=body.user_key if body else None)
    answer: dict[str, Any] = {"plugin_id": plugin_id, "installed": True}
    if (await _auth_type(host, user.id, plugin_id)) == "oauth":
        answer["sign_in_url"] = host.sign_in_links.link(user.id, plugin_id)
    # The install is done: a spec that cannot be had right now is a note, not a failure.
    try:
        tools = await host.registry.tools(plugin_id, revalidate=False)
    except PowerstripError as exc:
        answer["operations"] = []
        answer["warning"] = f"the operations could not be listed now: {exc}"
    else:
        answer["operations"] = [tool.function_name for tool in tools.toolset.tools]
    return answer


@router.post("/{plugin_id}/sign-in")
async def sign_in(plugin_id: PluginId, host: CurrentHost, user: CurrentUser) -> Any:
    """A fresh sign-in link for an installed OAuth plugin."""
    auth_type = await _auth_type(host, user.id, plugin_id)
    if not auth_type:
        raise NotFoundError(
            f"plugin {plugin_id} is not installed for you",
            where=f"plugin {plugin_id}",
            fix="install the plugin first: its answer carries the sign-in link",
        )
    if auth_type != "oauth":
        raise RegistryError(
            f"plugin {plugin_id} uses {auth_type} auth: there is nothing to sign in to",
            where=f"plugin {plugin_id}",
            fix="only OAuth plugins need a sign-in",
        )
    return {"sign_in_url": host.sign_in_links.link(user.id, plugin_id)}


@router.delete("/{plugin_id}/install", status_code=204)
async def uninstall(plugin_id: PluginId, host: CurrentHost, user: CurrentUser) -> None:
    """Uninstall; your credentials for the plugin are deleted."""
    await host.registry.uninstall(user.id, plugin_id)


@router.get("/{plugin_id}/operations")
async def operations(plugin_id: PluginId, host: CurrentHost, user: CurrentUser) -> Any:
    """The plugin's operations as the model sees them, with their consequential flag."""
    tools = await host.registry.tools(plugin_id, revalidate=False)
    return {
        "operations": [
            {
                "function_name": tool.function_name,
                "operation_id": tool.operation_id,
                "method": tool.method.upper(),
                "path": tool.path,
                "description": tool.description,
                "consequential": tool.consequential,
                "consequential_declared": tool.consequential_declared,
            }
            for tool in tools.toolset.tools
        ]
    }


@router.post("/{plugin_id}/registration")
async def register(
    plugin_id: PluginId, body: RegisterPlugin, host: CurrentHost, user: CurrentUser
) -> Any:
    """Register as the plugin's developer; publish the returned token in the manifest."""
    token = await host.registry.register(
        plugin_id,
        user.id,
        service_key=body.service_key,
        client_id=body.client_id,
        client_secret=body.client_secret,
    )
    return {
        "verification_token": token,
        "publish_as": {"auth": {"verification_tokens": {host.settings.verification_key: token}}},
    }


@router.post("/{plugin_id}/registration/verify")
async def verify_token(plugin_id: PluginId, host: CurrentHost, user: CurrentUser) -> Any:
    """Check that the live manifest now carries the verification token."""
    await host.registry.verify_token(plugin_id)
    return {"plugin_id": plugin_id, "token_verified": True}


@router.post("/{plugin_id}/verified", responses=error_responses(403))
async def set_verified(plugin_id: PluginId, body: SetFlag, host: CurrentHost, admin: Admin) -> Any:
    """Admin: verify a plugin (lifts the install cap), or withdraw the verification."""
    await host.registry.set_verified(plugin_id, body.value)
    return {"plugin_id": plugin_id, "verified": body.value}


@router.post("/{plugin_id}/banned", responses=error_responses(403))
async def set_banned(plugin_id: PluginId, body: SetFlag, host: CurrentHost, admin: Admin) -> Any:
    """Admin: ban a plugin (nobody may install, enable or call it), or lift the ban."""
    await host.registry.ban(plugin_id, body.value)
    return {"plugin_id": plugin_id, "banned": body.value}


async def _auth_type(host: CurrentHost, user_id: int, plugin_id: int) -> str:
    for entry in await host.registry.list_plugins(user_id, installed_only=True):
        if entry.plugin.id == plugin_id:
            return entry.plugin.auth_type
    return ""
