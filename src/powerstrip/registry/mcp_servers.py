"""MCP servers in the plugin store: added, refreshed and listed like OpenAPI plugins.

An MCP server is a `plugins` row like any other: a name for the model (the server's own name),
a manifest the store shows (made from what the server says about itself, with
`x-powerstrip-mcp` naming its URL or command), and its `tools/list` as the stored "spec". So
installs (no auth, or the user's own key sent as a bearer token), the unverified-install cap,
bans, grants, the plugins-per-conversation limit, the call ledger and the consent rules all
apply unchanged; the tools' consequential flags come from their annotations
(`powerstrip.mcp_client.tools`). A server that breaks an error rule of `powerstrip check --mcp`
is refused and nothing is written.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from sqlalchemy import select

from powerstrip.check import check_mcp_server, mcp_namespace
from powerstrip.errors import ManifestError, NetError, RegistryError
from powerstrip.findings import Severity
from powerstrip.mcp_client import (
    McpServerInfo,
    McpTarget,
    list_tools,
    tools_document,
    toolset_from_document,
)
from powerstrip.plugin import root_domain
from powerstrip.registry.catalog import PluginDiff, PluginInfo, operation_keys, plugin_info
from powerstrip.registry.context import RegistryContext, load_plugin, now
from powerstrip.registry.operation_changes import compare_operations, delete_grants
from powerstrip.store import Plugin, transaction

__all__ = [
    "MCP_KEY",
    "McpAuth",
    "add_mcp_server",
    "is_mcp_server",
    "mcp_target",
    "refresh_mcp_server",
    "relist_mcp_tools",
]

logger = logging.getLogger(__name__)

# The manifest key that marks a plugin as an MCP server and says where it is.
MCP_KEY = "x-powerstrip-mcp"
McpAuth = Literal["none", "user_http"]
_DESCRIPTION_LIMIT = 8000


async def is_mcp_server(ctx: RegistryContext, plugin_id: int) -> bool:
    """Whether the stored plugin is an MCP server (NotFoundError when there is none)."""
    async with ctx.sessions() as session:
        plugin = await load_plugin(session, plugin_id)
        return MCP_KEY in plugin.manifest


def mcp_target(manifest: dict[str, Any]) -> McpTarget | None:  # Any: JSON values
    """The MCP server a stored manifest names; None for an OpenAPI plugin."""
    return McpTarget.from_json(manifest.get(MCP_KEY))


def _manifest(
    target: McpTarget, info: McpServerInfo, namespace: str, auth: McpAuth
) -> dict[str, Any]:  # Any: JSON values
    human = info.title or info.name or namespace
    description = info.instructions or (
        f"The tools of the MCP server {human}. Each tool says what it does."
    )
    return {
        "schema_version": "v1",
        "name_for_model": namespace,
        "name_for_human": human[:200],
        "description_for_model": description[:_DESCRIPTION_LIMIT],
        "description_for_human": f"MCP server at {target.name}"[:200],
        "auth": (
            {"type": "user_http", "authorization_type": "bearer"}
            if auth == "user_http"
            else {"type": "none"}
        ),
        "api": {"type": "mcp", "url": target.name},
        "logo_url": "",
        "contact_email": "",
        "legal_info_url": "",
        MCP_KEY: target.to_json() | {"server_name": info.name},
    }


async def add_mcp_server(ctx: RegistryContext, target: McpTarget, *, auth: McpAuth) -> PluginInfo:
    """Check the server, then store it as a plugin; a refused server writes nothing."""
    report, info = await check_mcp_server(target, ctx.client)
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    if info is None or errors:
        listed = "; ".join(f"{f.code} at {f.location}: {f.message}" for f in errors)
        fix = f"fix the errors (`powerstrip check --mcp {target.name}` lists them with fixes)"
        if info is None:
            raise NetError(f"the MCP server cannot be used: {listed}", where=target.name, fix=fix)
        raise ManifestError(
            f"the MCP server has {len(errors)} error(s): {listed}",
            errors,
            where=target.name,
            fix=fix,
        )
    async with transaction(ctx.sessions) as session:
        existing = await session.scalar(select(Plugin.id).where(Plugin.manifest_url == target.name))
        if existing is not None:
            raise RegistryError(
                f"the MCP server at {target.name} is already added (id {existing})",
                where=target.name,
                fix="refresh the existing plugin to pick up changes",
            )
        namespace = await _free_namespace(session, mcp_namespace(info))
        document = tools_document(info.tools)
        toolset = toolset_from_document(namespace, document)
        plugin = Plugin(
            name_for_model=namespace,
            manifest_url=target.name,
            root_domain=root_domain(target.host) if target.url is not None else "localhost",
            manifest=_manifest(target, info, namespace, auth),
            spec_url=target.name,
            api_base_url=target.name,
            auth_type=auth,
            spec_body=document,
            spec_fetched_at=now(),
            reviewed_operations=sorted(operation_keys(toolset.tools)),
        )
        session.add(plugin)
        await session.flush()
        added = plugin_info(plugin)
    logger.info("registry.add_mcp plugin=%s target=%s", added.id, target.host)
    return added


async def _free_namespace(session: Any, wanted: str) -> str:  # Any: AsyncSession
    """`wanted`, or `wanted_2`, ...: two servers named alike get distinct function names."""
    taken = set((await session.scalars(select(Plugin.name_for_model))).all())
    candidate, counter = wanted, 1
    while candidate in taken:
        counter += 1
        candidate = f"{wanted}_{counter}"
    return candidate


async def relist_mcp_tools(
    ctx: RegistryContext, plugin_id: int, target: McpTarget, namespace: str, stored: str | None
) -> str | None:
    """The tool list to use this turn, asked of the server; None keeps the stored one.

    As for a spec: a list that changes an operation the user consented to (another
    consequential flag) is not used until a refresh; an unreachable server keeps its tools.
    """
    try:
        info = await list_tools(ctx.client, target)
    except NetError as exc:
        logger.warning("spec_cache.mcp_unreachable plugin=%s error=%s", plugin_id, exc.message)
        return None
    document = tools_document(info.tools)
    if document == stored:
        return stored
    old = () if stored is None else toolset_from_document(namespace, stored).tools
    changes = compare_operations(old, toolset_from_document(namespace, document).tools)
    if changes.changed:
        logger.warning("spec_cache.needs_refresh plugin=%s %s", plugin_id, changes.describe())
        return None
    async with transaction(ctx.sessions) as session:
        plugin = await load_plugin(session, plugin_id, lock=True)
        plugin.spec_body = document
        plugin.spec_fetched_at = now()
        await delete_grants(session, plugin_id, changes.removed)
    return document


async def refresh_mcp_server(ctx: RegistryContext, plugin_id: int) -> PluginDiff:
    """Re-list the server's tools and store them; changed and removed tools lose their grants."""
    async with ctx.sessions() as session:
        old = await load_plugin(session, plugin_id)
    target = mcp_target(old.manifest)
    if target is None:
        raise RegistryError(
            f"plugin {plugin_id} is not an MCP server",
            where=f"plugin {plugin_id}",
            fix="refresh it as a plugin",
        )
    info = await list_tools(ctx.client, target)
    document = tools_document(info.tools)
    new_tools = toolset_from_document(old.name_for_model, document).tools
    old_tools = (
        toolset_from_document(old.name_for_model, old.spec_body).tools if old.spec_body else ()
    )
    old_ops = set(old.reviewed_operations or operation_keys(old_tools))
    new_ops = operation_keys(new_tools)
    changes = compare_operations(old_tools, new_tools)
    async with transaction(ctx.sessions) as session:
        plugin = await load_plugin(session, plugin_id, lock=True)
        plugin.spec_body = document
        plugin.spec_fetched_at = now()
        plugin.reviewed_operations = sorted(new_ops)
        removed = await delete_grants(session, plugin_id, (*changes.changed, *changes.removed))
    logger.info("registry.refresh_mcp plugin=%s %s", plugin_id, changes.describe())
    return PluginDiff(
        plugin_id=plugin_id,
        changed_fields=("tools",) if document != old.spec_body else (),
        operations_added=tuple(sorted(new_ops - old_ops)),
        operations_removed=tuple(sorted(old_ops - new_ops)),
        auth_changed=False,
        api_host_changed=False,
        reconsent_required=0,
        operations_changed=changes.changed,
        grants_removed=removed,
    )
