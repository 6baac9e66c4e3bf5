"""The spec cache: a plugin's tools for this turn, revalidated with the plugin each time.

DESIGN.md asks for the spec to be "fetched through the spec cache, revalidated each turn": a
conditional GET (`If-None-Match` / `If-Modified-Since`) costs the plugin a 304 when nothing
changed, and a developer's redeploy reaches the model on the next message. What the plugin
answers decides what is used:

- 304, or the same bytes: the stored spec.
- new bytes that convert: stored (body, ETag, Last-Modified) and used; the grants of operations
  they no longer have are deleted.
- new bytes that change an operation the user consented to (same id, another method or path, or
  another consequential flag): not used; the stored spec is served until a refresh
  (`registry.operation_changes`). The API host never comes from a revalidated spec either: it is
  the one chosen at the last add or refresh.
- new bytes that do not convert, an error status, or no answer: the stored spec, with a warning
  in the log, so a plugin's bad deploy or outage does not take its tools away mid-conversation.

Converting a spec is the costly part, so converted tool sets are kept in memory by the digest of
the spec text: every process converts each version once.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Text, bindparam, cast, func, select

from powerstrip.errors import NetError, PowerstripError, RegistryError, SpecError
from powerstrip.mcp_client import McpTarget, McpUnauthorizedError, toolset_from_document
from powerstrip.openapi import ToolSet, convert, load_spec
from powerstrip.registry.catalog import operation_keys
from powerstrip.registry.context import (
    RegistryContext,
    load_plugin,
    now,
    plugin_banned,
    plugin_not_found,
)
from powerstrip.registry.credentials import PluginCredentials, service_credentials
from powerstrip.registry.mcp_servers import mcp_target, relist_mcp_tools
from powerstrip.registry.operation_changes import compare_operations, delete_grants
from powerstrip.store import Plugin, read_job, transaction

__all__ = ["CachedTools", "SpecCache"]

logger = logging.getLogger(__name__)

_CONVERTED_LIMIT = 256

# What a turn reads of a plugin: everything but the spec and the manifest, which are read only
# when their markers (fetch time, validators, lengths) say the copy held is not the stored one.
_PLUGIN = select(
    Plugin.banned,
    Plugin.name_for_model,
    Plugin.spec_url,
    Plugin.api_base_url,
    Plugin.manifest_url,
    Plugin.auth_type,
    Plugin.spec_etag,
    Plugin.spec_last_modified,
    Plugin.spec_fetched_at,
    func.length(Plugin.spec_body).label("body_length"),
    func.length(cast(Plugin.manifest, Text)).label("manifest_length"),
).where(Plugin.id == bindparam("plugin_id"))
_BODY = select(Plugin.spec_body, Plugin.manifest).where(Plugin.id == bindparam("plugin_id"))


@dataclass(frozen=True, slots=True)
class _Stored:
    """A plugin's stored spec and what its manifest says, with the marker they were read at."""

    marker: tuple[object, ...]
    body: str | None
    description: str
    target: McpTarget | None


# MCP servers whose every user has their own credential: listed per user, never for all.
_PER_USER = frozenset({"user_http", "oauth"})


@dataclass(frozen=True, slots=True)
class CachedTools:
    """A plugin's tools as of this turn, and where its API is called."""

    plugin_id: int
    name_for_model: str
    description_for_model: str
    api_base_url: str
    manifest_url: str
    toolset: ToolSet
    # Whether the plugin answered this turn's revalidation (False: the stored copy was used).
    fresh: bool
    # Set when the plugin is an MCP server: where its tools are called.
    mcp: McpTarget | None = None


class SpecCache:
    """Revalidates and converts plugin specs; one per process, shared by every conversation."""

    def __init__(
        self,
        ctx: RegistryContext,
        credentials: Callable[[int, int], PluginCredentials] | None = None,
    ) -> None:
        self.ctx = ctx
        # (user id, plugin id) → the user's credential source, for listings made for a user.
        self._credentials = credentials or (
            lambda user_id, plugin_id: PluginCredentials(ctx, user_id, plugin_id)
        )
        self._converted: OrderedDict[tuple[str, str], ToolSet] = OrderedDict()
        # plugin id → its stored spec and manifest facts, as last read (`_stored`).
        self._stored_specs: OrderedDict[int, _Stored] = OrderedDict()

    async def tools(
        self, plugin_id: int, *, revalidate: bool = True, user_id: int | None = None
    ) -> CachedTools:
        """The plugin's tools, revalidated with the plugin first unless `revalidate=False`.

        `user_id`: the user the tools are for. An MCP server whose users each have their own
        credential (`user_http`, `oauth`) is listed with that user's, and only for them; without
        a user it is not asked, and its stored tools are used.
        """
        # Read as one job: a single trip to SQLite's thread, no async layer (store/jobs.py).
        plugin = await read_job(
            self.ctx.sessions,
            lambda connection: connection.execute(_PLUGIN, {"plugin_id": plugin_id}).one_or_none(),
        )
        if plugin is None:
            raise plugin_not_found(plugin_id)
        # A banned plugin offers nothing: not its tools, not its description, not a fetch.
        if plugin.banned:
            raise plugin_banned(plugin_id, plugin.name_for_model)
        stored = await self._stored(plugin_id, plugin)
        body, description, target = stored.body, stored.description, stored.target
        etag, modified = plugin.spec_etag, plugin.spec_last_modified
        namespace, spec_url = plugin.name_for_model, plugin.spec_url
        api_base_url, manifest_url = plugin.api_base_url, plugin.manifest_url
        auth_type = plugin.auth_type
        if target is not None:
            return await self._mcp_tools(
                plugin_id,
                target,
                namespace,
                description,
                body,
                revalidate=revalidate,
                auth_type=auth_type,
                user_id=user_id,
            )
        fresh = False
        if revalidate or body is None:
            fetched = await self._revalidate(
                plugin_id, spec_url, manifest_url, namespace, body, etag, modified
            )
            if fetched is not None:
                body, fresh = fetched, True
        if body is None:
            raise RegistryError(
                f"the spec of plugin {plugin_id} could not be fetched and none is stored",
                where=spec_url,
                fix="check that the plugin is up, then try again",
            )
        return CachedTools(
            plugin_id=plugin_id,
            name_for_model=namespace,
            description_for_model=description,
            api_base_url=api_base_url,
            manifest_url=manifest_url,
            toolset=self._convert(namespace, body),
            fresh=fresh,
        )

    async def _stored(self, plugin_id: int, plugin: Row[Any]) -> _Stored:
        """The stored spec and what the manifest says, read again only when they changed.

        The spec (tens of kilobytes, often) and the manifest would otherwise be read and
        decoded on every turn; the row's fetch time, validators and lengths say whether the
        copy held here is still the stored one.
        """
        marker = (
            plugin.spec_fetched_at,
            plugin.spec_etag,
            plugin.spec_last_modified,
            plugin.body_length,
            plugin.manifest_length,
        )
        held = self._stored_specs.get(plugin_id)
        if held is not None and held.marker == marker:
            self._stored_specs.move_to_end(plugin_id)
            return held
        found = await read_job(
            self.ctx.sessions,
            lambda connection: connection.execute(_BODY, {"plugin_id": plugin_id}).one_or_none(),
        )
        if found is None:  # deleted since the row above was read
            raise plugin_not_found(plugin_id)
        body, manifest = found
        held = _Stored(
            marker=marker,
            body=body,
            description=str((manifest or {}).get("description_for_model") or ""),
            target=mcp_target(manifest or {}),
        )
        self._stored_specs[plugin_id] = held
        if len(self._stored_specs) > _CONVERTED_LIMIT:
            self._stored_specs.popitem(last=False)
        return held

    async def _mcp_tools(
        self,
        plugin_id: int,
        target: McpTarget,
        namespace: str,
        description: str,
        body: str | None,
        *,
        revalidate: bool,
        auth_type: str,
        user_id: int | None,
    ) -> CachedTools:
        """An MCP server's tools: its `tools/list` asked again each turn, as a spec is."""
        fresh = False
        per_user = auth_type in _PER_USER
        if (revalidate or body is None) and (user_id is not None or not per_user):
            listed = await self._relist(
                plugin_id, target, namespace, body, auth_type=auth_type, user_id=user_id
            )
            if listed is not None and body is None:
                # The first listing named the plugin after the server: read it back.
                return await self.tools(plugin_id, revalidate=False)
            if listed is not None:
                body, fresh = listed, True
        if body is None:
            raise RegistryError(
                f"the tools of MCP server {plugin_id} could not be listed and none are stored",
                where=target.name,
                fix=(
                    "it lists its tools for its users only: install it with your key, or sign "
                    "in to it, first"
                    if per_user
                    else "check that the MCP server is up, then try again"
                ),
            )
        key = ("mcp:" + namespace, hashlib.sha256(body.encode()).hexdigest())
        toolset = self._converted.get(key)
        if toolset is None:
            toolset = toolset_from_document(namespace, body, description=description)
            self._converted[key] = toolset
            if len(self._converted) > _CONVERTED_LIMIT:
                self._converted.popitem(last=False)
        return CachedTools(
            plugin_id=plugin_id,
            name_for_model=namespace,
            description_for_model=description,
            api_base_url=target.name,
            manifest_url=target.name,
            toolset=toolset,
            fresh=fresh,
            mcp=target,
        )

    async def _relist(
        self,
        plugin_id: int,
        target: McpTarget,
        namespace: str,
        body: str | None,
        *,
        auth_type: str,
        user_id: int | None,
    ) -> str | None:
        """The server's tool list as of now, with the credential it is listed with; None keeps
        the stored one. A user's 401 renews their token once, as a call's does."""
        source = None
        try:
            if auth_type in _PER_USER:
                assert user_id is not None  # the caller checked
                source = self._credentials(user_id, plugin_id)
                material = await source.current()
            elif auth_type == "service_http":
                material = await service_credentials(self.ctx, plugin_id)
            else:
                material = None
            headers = material.headers if material is not None else None
            shared = source is None
            try:
                return await relist_mcp_tools(
                    self.ctx, plugin_id, target, namespace, body, headers=headers, shared=shared
                )
            except McpUnauthorizedError:
                renewed = await source.refresh() if source is not None else None
                if renewed is None:
                    raise
                return await relist_mcp_tools(
                    self.ctx,
                    plugin_id,
                    target,
                    namespace,
                    body,
                    headers=renewed.headers,
                    shared=shared,
                )
        except PowerstripError as exc:
            logger.warning("spec_cache.mcp_not_listed plugin=%s error=%s", plugin_id, exc.message)
            return None

    async def _revalidate(
        self,
        plugin_id: int,
        spec_url: str,
        manifest_url: str,
        namespace: str,
        body: str | None,
        etag: str | None,
        modified: str | None,
    ) -> str | None:
        """The body to use after asking the plugin, or None to keep the stored one."""
        headers: dict[str, str] = {}
        if body is not None and etag:
            headers["If-None-Match"] = etag
        if body is not None and modified:
            headers["If-Modified-Since"] = modified
        try:
            response = await self.ctx.client.fetch(spec_url, headers=headers, origin=manifest_url)
        except NetError as exc:
            logger.warning("spec_cache.unreachable plugin=%s error=%s", plugin_id, exc.message)
            return None
        if response.status_code == 304 and body is not None:
            return body
        if not response.is_success:
            logger.warning("spec_cache.status plugin=%s status=%s", plugin_id, response.status_code)
            return None
        text = response.text
        if text == body:
            return body
        try:
            new_tools = self._convert(namespace, text)
        except SpecError as exc:
            logger.warning("spec_cache.bad_spec plugin=%s error=%s", plugin_id, exc.message)
            return None
        try:
            old_tools = None if body is None else self._convert(namespace, body)
        except SpecError:
            old_tools = None
        changes = compare_operations(() if old_tools is None else old_tools.tools, new_tools.tools)
        if changes.changed:
            # An operation the user consented to now reaches another endpoint or asks
            # differently: that needs a refresh (and its grants dropped), never a silent switch.
            logger.warning("spec_cache.needs_refresh plugin=%s %s", plugin_id, changes.describe())
            return None
        async with transaction(self.ctx.sessions) as session:
            plugin = await load_plugin(session, plugin_id, lock=True)
            plugin.spec_body = text
            plugin.spec_etag = response.headers.get("etag")
            plugin.spec_last_modified = response.headers.get("last-modified")
            plugin.spec_fetched_at = now()
            # A removed operation takes its grants along: were its id brought back as another
            # endpoint, it would otherwise inherit the old "always allow".
            await delete_grants(session, plugin_id, changes.removed)
        # The new operations are offered from this turn on; say which, since a later refresh
        # compares against this stored copy and will not list them again.
        old_ops = set() if old_tools is None else operation_keys(old_tools.tools)
        new_ops = operation_keys(new_tools.tools)
        logger.info(
            "spec_cache.updated plugin=%s added=%s removed=%s",
            plugin_id,
            ",".join(sorted(new_ops - old_ops)) or "-",
            ",".join(sorted(old_ops - new_ops)) or "-",
        )
        return text

    def _convert(self, namespace: str, body: str) -> ToolSet:
        key = (namespace, hashlib.sha256(body.encode()).hexdigest())
        toolset = self._converted.get(key)
        if toolset is None:
            toolset = convert(load_spec(body), namespace=namespace)
            self._converted[key] = toolset
            if len(self._converted) > _CONVERTED_LIMIT:
                self._converted.popitem(last=False)
        else:
            self._converted.move_to_end(key)
        return toolset
