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
import secrets
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import delete, select

from powerstrip.check import check_listed, mcp_namespace
from powerstrip.errors import ManifestError, NetError, PowerstripError, RegistryError
from powerstrip.findings import Severity
from powerstrip.mcp_client import (
    McpServerInfo,
    McpTarget,
    McpUnauthorizedError,
    list_tools,
    tools_document,
    toolset_from_document,
)
from powerstrip.mcp_client.oauth import (
    McpAuthorization,
    discover_authorization,
    register_client,
)
from powerstrip.plugin import root_domain
from powerstrip.registry.catalog import PluginDiff, PluginInfo, operation_keys, plugin_info
from powerstrip.registry.context import (
    RegistryContext,
    client_secret_context,
    load_plugin,
    now,
    redirect_uri,
    service_key_context,
)
from powerstrip.registry.operation_changes import compare_operations, delete_grants
from powerstrip.store import Plugin, Registration, transaction

__all__ = [
    "MCP_KEY",
    "McpAuth",
    "add_mcp_server",
    "is_mcp_server",
    "mcp_authorization",
    "mcp_target",
    "refresh_mcp_server",
    "relist_mcp_tools",
]

logger = logging.getLogger(__name__)

# The manifest key that marks a plugin as an MCP server and says where it is.
MCP_KEY = "x-powerstrip-mcp"
McpAuth = Literal["none", "user_http", "service_http", "oauth"]
_DESCRIPTION_LIMIT = 8000
_TOKEN_BYTES = 24


async def is_mcp_server(ctx: RegistryContext, plugin_id: int) -> bool:
    """Whether the stored plugin is an MCP server (NotFoundError when there is none)."""
    async with ctx.sessions() as session:
        plugin = await load_plugin(session, plugin_id)
        return MCP_KEY in plugin.manifest


def mcp_target(manifest: dict[str, Any]) -> McpTarget | None:  # Any: JSON values
    """The MCP server a stored manifest names; None for an OpenAPI plugin."""
    return McpTarget.from_json(manifest.get(MCP_KEY))


def mcp_authorization(manifest: dict[str, Any]) -> McpAuthorization | None:  # Any: JSON
    """Where the users of an OAuth MCP server sign in; None for any other plugin."""
    block = manifest.get(MCP_KEY)
    return McpAuthorization.from_json(block.get("oauth")) if isinstance(block, dict) else None


def _auth(auth: McpAuth, authorization: McpAuthorization | None) -> dict[str, Any]:  # Any: JSON
    if auth == "oauth" and authorization is not None:
        return {
            "type": "oauth",
            "client_url": authorization.authorization_endpoint,
            "authorization_url": authorization.token_endpoint,
            "scope": authorization.scope,
            "authorization_content_type": "application/x-www-form-urlencoded",
        }
    if auth in ("user_http", "service_http"):
        return {"type": auth, "authorization_type": "bearer"}
    return {"type": "none"}


def _manifest(
    target: McpTarget,
    info: McpServerInfo,
    namespace: str,
    auth: McpAuth,
    authorization: McpAuthorization | None = None,
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
        "auth": _auth(auth, authorization),
        "api": {"type": "mcp", "url": target.name},
        "logo_url": "",
        "contact_email": "",
        "legal_info_url": "",
        MCP_KEY: target.to_json()
        | {"server_name": info.name}
        | ({"oauth": authorization.to_json()} if authorization is not None else {}),
    }


async def add_mcp_server(
    ctx: RegistryContext,
    target: McpTarget,
    *,
    auth: McpAuth,
    adder_id: int | None = None,
    service_key: str | None = None,
) -> PluginInfo:
    """Check the server, then store it as a plugin; a refused server writes nothing.

    `service_http`: the listing is made with `service_key`, which is sealed as the plugin's
    registration (the adder, an admin, vouches for it). A server that answers the listing with
    401 is listed at its first user's install (`user_http`) or sign-in (`oauth`: found from
    its protected resource metadata, with Powerstrip registered as a client there).
    """
    headers = {"Authorization": f"Bearer {service_key}"} if service_key else None
    try:
        info = await list_tools(ctx.client, target, headers=headers)
    except McpUnauthorizedError as exc:
        if auth == "service_http" or target.url is None:
            raise RegistryError(
                "the MCP server refused the service key (401)",
                where=target.name,
                fix="check the key, or add the server with --user-key if each user has one",
            ) from None
        if auth == "none":
            auth = "oauth"  # a 401 without a key given: the server's own OAuth, if it has one
        authorization = (
            await discover_authorization(ctx.client, target.url, exc.challenge)
            if auth == "oauth"
            else None
        )
        return await _add_unlisted(ctx, target, auth, authorization, adder_id)
    except NetError as exc:
        raise NetError(
            f"the MCP server cannot be used: PS500 at {target.name}: {exc.message}",
            where=target.name,
            fix=f"fix the errors (`powerstrip check --mcp {target.name}` lists them with fixes)",
        ) from None
    report = check_listed(target, info)
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    if errors:
        listed = "; ".join(f"{f.code} at {f.location}: {f.message}" for f in errors)
        raise ManifestError(
            f"the MCP server has {len(errors)} error(s): {listed}",
            errors,
            where=target.name,
            fix=f"fix the errors (`powerstrip check --mcp {target.name}` lists them with fixes)",
        )
    if auth == "oauth":
        raise RegistryError(
            "the MCP server lists its tools without a credential: it does not use OAuth",
            where=target.name,
            fix="add it without --oauth",
        )
    async with transaction(ctx.sessions) as session:
        await _refuse_existing(session, target)
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
        if service_key:
            session.add(
                Registration(
                    plugin_id=plugin.id,
                    developer_id=adder_id,
                    service_key_sealed=ctx.vault.seal(
                        service_key, context=service_key_context(plugin.id)
                    ),
                    verification_token=secrets.token_urlsafe(_TOKEN_BYTES),
                    # No manifest to publish a token in: the admin who gave the key vouches.
                    token_verified_at=now(),
                )
            )
        added = plugin_info(plugin)
    logger.info("registry.add_mcp plugin=%s target=%s auth=%s", added.id, target.host, auth)
    return added


async def _refuse_existing(session: Any, target: McpTarget) -> None:  # Any: AsyncSession
    existing = await session.scalar(select(Plugin.id).where(Plugin.manifest_url == target.name))
    if existing is not None:
        raise RegistryError(
            f"the MCP server at {target.name} is already added (id {existing})",
            where=target.name,
            fix="refresh the existing plugin to pick up changes",
        )


async def _add_unlisted(
    ctx: RegistryContext,
    target: McpTarget,
    auth: McpAuth,
    authorization: McpAuthorization | None,
    adder_id: int | None,
) -> PluginInfo:
    """Store a server that lists its tools only for its users; they are listed with the first
    user's credential. For OAuth, Powerstrip registers itself as a client of the server's
    authorization server (its redirect URI names the plugin, so the row comes first and goes
    again when the registration fails)."""
    assert target.url is not None
    name = root_domain(target.host).split(".")[0]
    info = McpServerInfo(name=name, title=target.host, instructions="", tools=())
    async with transaction(ctx.sessions) as session:
        await _refuse_existing(session, target)
        namespace = await _free_namespace(session, mcp_namespace(info))
        manifest = _manifest(target, info, namespace, auth, authorization)
        plugin = Plugin(
            name_for_model=namespace,
            manifest_url=target.name,
            root_domain=root_domain(target.host),
            manifest=manifest,
            spec_url=target.name,
            api_base_url=target.name,
            auth_type=auth,
            spec_body=None,
            reviewed_operations=[],
        )
        session.add(plugin)
        await session.flush()
        added = plugin_info(plugin)
    if authorization is not None:
        try:
            client_id, client_secret = await register_client(
                ctx.client,
                authorization,
                redirect_uri=redirect_uri(ctx.settings.public_url, added.id),
                client_name=f"Powerstrip ({urlsplit(ctx.settings.public_url).netloc})",
                origin=target.url,
            )
        except PowerstripError:
            async with transaction(ctx.sessions) as session:
                await session.execute(delete(Plugin).where(Plugin.id == added.id))
            raise
        async with transaction(ctx.sessions) as session:
            session.add(
                Registration(
                    plugin_id=added.id,
                    developer_id=adder_id,
                    oauth_client_id=client_id,
                    oauth_client_secret_sealed=(
                        ctx.vault.seal(client_secret, context=client_secret_context(added.id))
                        if client_secret
                        else None
                    ),
                    verification_token=secrets.token_urlsafe(_TOKEN_BYTES),
                    # The server named this authorization server itself, and the client is
                    # Powerstrip's own: there is no third party's secret to vouch for.
                    token_verified_at=now(),
                )
            )
    logger.info("registry.add_mcp plugin=%s target=%s auth=%s", added.id, target.host, auth)
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
    ctx: RegistryContext,
    plugin_id: int,
    target: McpTarget,
    namespace: str,
    stored: str | None,
    *,
    headers: Mapping[str, str] | None = None,
    shared: bool = True,
) -> str | None:
    """The tool list to use this turn, asked of the server; None keeps the stored one.

    As for a spec: a list that changes an operation the user consented to (another
    consequential flag) is not used until a refresh; an unreachable server keeps its tools.
    `shared=False` is a listing made with one user's credential: it is that user's, used for
    their turn and never stored for everyone (nor does it take grants away), but for the first
    one of a server that had none, which is checked and stored as the store's tool list.
    """
    try:
        info = await list_tools(ctx.client, target, headers=headers)
    except McpUnauthorizedError:
        raise
    except NetError as exc:
        logger.warning("spec_cache.mcp_unreachable plugin=%s error=%s", plugin_id, exc.message)
        return None
    document = tools_document(info.tools)
    if document == stored:
        return stored
    if stored is None:
        return await _store_first_listing(ctx, plugin_id, target, info)
    old = toolset_from_document(namespace, stored).tools
    changes = compare_operations(old, toolset_from_document(namespace, document).tools)
    if changes.changed:
        logger.warning("spec_cache.needs_refresh plugin=%s %s", plugin_id, changes.describe())
        return None
    if not shared:
        return document
    async with transaction(ctx.sessions) as session:
        plugin = await load_plugin(session, plugin_id, lock=True)
        plugin.spec_body = document
        plugin.spec_fetched_at = now()
        await delete_grants(session, plugin_id, changes.removed)
    return document


async def _store_first_listing(
    ctx: RegistryContext, plugin_id: int, target: McpTarget, info: McpServerInfo
) -> str:
    """The first tool list of a server added before it could be listed: checked, then stored."""
    report = check_listed(target, info)
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    if errors:
        listed = "; ".join(f"{f.code} at {f.location}: {f.message}" for f in errors)
        raise ManifestError(
            f"the MCP server's tools have {len(errors)} error(s): {listed}",
            errors,
            where=target.name,
            fix="the server's developer must fix them; nothing is offered until then",
        )
    document = tools_document(info.tools)
    async with transaction(ctx.sessions) as session:
        plugin = await load_plugin(session, plugin_id, lock=True)
        if plugin.spec_body is not None:
            return document  # another user's first listing won the race
        # Named after its host until now: the server's own name, as for a server listed at
        # add (no tool of it has been offered, called or allowed under the old name).
        wanted = mcp_namespace(info, fallback=plugin.name_for_model)
        if wanted != plugin.name_for_model:
            plugin.name_for_model = await _free_namespace(session, wanted)
        namespace = plugin.name_for_model
        plugin.spec_body = document
        plugin.spec_fetched_at = now()
        plugin.reviewed_operations = sorted(
            operation_keys(toolset_from_document(namespace, document).tools)
        )
        manifest = dict(plugin.manifest)
        if info.instructions:
            manifest["description_for_model"] = info.instructions[:_DESCRIPTION_LIMIT]
        if info.title or info.name:
            manifest["name_for_human"] = (info.title or info.name)[:200]
        plugin.manifest = manifest
    logger.info("registry.mcp_first_listing plugin=%s tools=%s", plugin_id, len(info.tools))
    return document


async def refresh_mcp_server(
    ctx: RegistryContext, plugin_id: int, *, headers: Mapping[str, str] | None = None
) -> PluginDiff:
    """Re-list the server's tools and store them; changed and removed tools lose their grants.

    `headers`: the credential to list with (the service key, or the refreshing user's own).
    """
    async with ctx.sessions() as session:
        old = await load_plugin(session, plugin_id)
    target = mcp_target(old.manifest)
    if target is None:
        raise RegistryError(
            f"plugin {plugin_id} is not an MCP server",
            where=f"plugin {plugin_id}",
            fix="refresh it as a plugin",
        )
    info = await list_tools(ctx.client, target, headers=headers)
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
