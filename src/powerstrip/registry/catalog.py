"""Adding a plugin from its URL and refreshing it (spec §2, §3, §7).

Discovery and every rule come from `powerstrip.check.check_url`: the registry only decides what
the findings allow. A plugin with errors is refused, except in lenient mode when every error is
a length or charset rule of the manifest (PS102-PS106), which real manifests often break.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from sqlalchemy import delete, select

from powerstrip.check import CheckReport, ToolSummary, check_url
from powerstrip.errors import ManifestError, NetError, RegistryError, SpecError
from powerstrip.findings import Finding, Severity
from powerstrip.openapi import Tool, convert, load_spec
from powerstrip.plugin import Manifest, OAuthAuth, parse_manifest
from powerstrip.registry.context import RegistryContext, load_plugin, now
from powerstrip.registry.operation_changes import (
    OperationChanges,
    compare_operations,
    delete_grants,
)
from powerstrip.store import Credential, Install, Plugin, transaction

__all__ = [
    "LENIENT_CODES",
    "PluginDiff",
    "PluginInfo",
    "add_plugin",
    "api_host",
    "auth_for_consent",
    "manifest_json",
    "manifest_of",
    "operation_keys",
    "plugin_info",
    "refresh_plugin",
    "stored_manifest",
]

logger = logging.getLogger(__name__)

# The manifest's length and charset rules: the only errors lenient mode lets through.
LENIENT_CODES = frozenset({"PS102", "PS103", "PS104", "PS105", "PS106"})


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """A stored plugin as the store lists it."""

    id: int
    name_for_model: str
    manifest_url: str
    api_base_url: str
    auth_type: str
    verified: bool
    banned: bool
    lenient: bool


@dataclass(frozen=True, slots=True)
class PluginDiff:
    """What a refresh found changed; `reconsent_required` installs lost their credentials."""

    plugin_id: int
    changed_fields: tuple[str, ...]
    operations_added: tuple[str, ...]
    operations_removed: tuple[str, ...]
    auth_changed: bool
    api_host_changed: bool
    reconsent_required: int
    # Operation ids kept with another method, path or consequential flag: their grants went.
    operations_changed: tuple[str, ...] = ()
    grants_removed: int = 0

    @property
    def changed(self) -> bool:
        """True when anything at all changed."""
        return bool(
            self.changed_fields
            or self.operations_added
            or self.operations_removed
            or self.operations_changed
        )


@dataclass(frozen=True, slots=True)
class _Discovered:
    report: CheckReport
    manifest: Manifest
    manifest_json: dict[str, Any]  # Any: JSON values
    spec_url: str
    api_base_url: str
    root_domain: str
    lenient: bool
    spec_body: str | None
    spec_etag: str | None
    spec_last_modified: str | None


def manifest_json(manifest: Manifest) -> dict[str, Any]:  # Any: JSON values
    """The manifest as stored: its fields, plus the unknown keys the author wrote, top level."""
    data = manifest.model_dump(mode="json", exclude={"extra"})
    data.update({key: value for key, value in manifest.extra.items() if key not in data})
    return data


async def manifest_of(ctx: RegistryContext, plugin_id: int) -> dict[str, Any]:  # Any: JSON
    """The stored manifest of a plugin as it was read."""
    async with ctx.sessions() as session:
        plugin = await load_plugin(session, plugin_id)
        return dict(plugin.manifest)


def stored_manifest(plugin: Plugin) -> Manifest:
    """The manifest of a stored plugin, parsed back into its model."""
    parsed = parse_manifest(json.dumps(plugin.manifest).encode())
    if parsed.manifest is None:
        raise RegistryError(
            f"the stored manifest of plugin {plugin.id} no longer parses",
            where=f"plugin {plugin.id}",
            fix="refresh the plugin from its URL",
        )
    return parsed.manifest


def plugin_info(plugin: Plugin) -> PluginInfo:
    """The listing view of a plugin row."""
    return PluginInfo(
        id=plugin.id,
        name_for_model=plugin.name_for_model,
        manifest_url=plugin.manifest_url,
        api_base_url=plugin.api_base_url,
        auth_type=plugin.auth_type,
        verified=plugin.verified,
        banned=plugin.banned,
        lenient=plugin.lenient,
    )


def auth_for_consent(auth: dict[str, Any]) -> dict[str, Any]:  # Any: JSON values
    """The part of `auth` a user consents to: verification tokens are the host's business."""
    return {key: value for key, value in auth.items() if key != "verification_tokens"}


def api_host(api_base_url: str) -> str:
    """The host (and port when not the default) the plugin's API is called at."""
    return urlsplit(api_base_url).netloc.lower()


async def add_plugin(ctx: RegistryContext, url: str) -> PluginInfo:
    """Discover and check the plugin at `url`, then store it; a refused plugin writes nothing."""
    found = await _discover(ctx, url)
    manifest_url = found.report.manifest_url or url
    async with transaction(ctx.sessions) as session:
        existing = await session.execute(
            select(Plugin.id).where(Plugin.manifest_url == manifest_url)
        )
        if (plugin_id := existing.scalar_one_or_none()) is not None:
            raise RegistryError(
                f"the plugin at {manifest_url} is already added (id {plugin_id})",
                where=manifest_url,
                fix="refresh the existing plugin to pick up changes",
            )
        plugin = Plugin(
            name_for_model=found.manifest.name_for_model,
            manifest_url=manifest_url,
            root_domain=found.root_domain,
            manifest=found.manifest_json,
            spec_url=found.spec_url,
            api_base_url=found.api_base_url,
            auth_type=str(found.manifest.auth.type),
            spec_body=found.spec_body,
            spec_etag=found.spec_etag,
            spec_last_modified=found.spec_last_modified,
            spec_fetched_at=now() if found.spec_body is not None else None,
            reviewed_operations=sorted(operation_keys(found.report.tools)),
            lenient=found.lenient,
        )
        session.add(plugin)
        await session.flush()
        info = plugin_info(plugin)
    logger.info("registry.add plugin=%s url=%s lenient=%s", info.id, manifest_url, info.lenient)
    return info


async def refresh_plugin(ctx: RegistryContext, plugin_id: int) -> PluginDiff:
    """Re-fetch a plugin, store what changed, and require re-consent when auth or API host did.

    Re-consent (spec §7) marks every install `needs_reconsent` and deletes every user's stored
    credentials for the plugin, in the same transaction as the update. The "always allow"
    grants go too: all of them when auth or host changed, else those of the operations that
    changed method, path or consequential flag, or are gone.
    """
    async with ctx.sessions() as session:
        old = await load_plugin(session, plugin_id)
    found = await _discover(ctx, old.manifest_url)
    old_auth = auth_for_consent(old.manifest.get("auth") or {})
    auth_changed = old_auth != auth_for_consent(found.manifest_json.get("auth") or {})
    host_changed = api_host(old.api_base_url) != api_host(found.api_base_url)
    # Against the operations as of the last add or refresh: the spec cache may have stored a
    # newer spec since, and comparing with that would hide what changed.
    old_ops = (
        set(old.reviewed_operations)
        if old.reviewed_operations is not None
        else _operations_of(old.spec_body, old.name_for_model)
    )
    new_ops = operation_keys(found.report.tools)
    changed = sorted(
        key
        for key in set(old.manifest) | set(found.manifest_json)
        if old.manifest.get(key) != found.manifest_json.get(key)
    )
    if host_changed:
        changed.append("api_base_url")
    operations = _operation_changes(old.spec_body, found.spec_body, old.name_for_model, found)
    reconsent = 0
    async with transaction(ctx.sessions) as session:
        plugin = await load_plugin(session, plugin_id, lock=True)
        plugin.name_for_model = found.manifest.name_for_model
        plugin.manifest = found.manifest_json
        plugin.root_domain = found.root_domain
        plugin.spec_url = found.spec_url
        plugin.api_base_url = found.api_base_url
        plugin.auth_type = str(found.manifest.auth.type)
        plugin.lenient = found.lenient
        plugin.reviewed_operations = sorted(new_ops)
        if found.spec_body is not None:
            plugin.spec_body = found.spec_body
            plugin.spec_etag = found.spec_etag
            plugin.spec_last_modified = found.spec_last_modified
            plugin.spec_fetched_at = now()
        if auth_changed or host_changed:
            installs = (
                (await session.execute(select(Install).where(Install.plugin_id == plugin_id)))
                .scalars()
                .all()
            )
            for install in installs:
                install.needs_reconsent = True
            reconsent = len(installs)
            await session.execute(delete(Credential).where(Credential.plugin_id == plugin_id))
        # "Always allow" was given to an operation at an endpoint, with its credentials: when
        # either moves, the grant no longer stands (every grant, when auth or host changed).
        grants_removed = await delete_grants(
            session,
            plugin_id,
            None if auth_changed or host_changed else (*operations.changed, *operations.removed),
        )
    logger.info(
        "registry.refresh plugin=%s changed=%s reconsent=%s operations %s grants_removed=%s",
        plugin_id,
        ",".join(changed),
        reconsent,
        operations.describe(),
        grants_removed,
    )
    return PluginDiff(
        plugin_id=plugin_id,
        changed_fields=tuple(changed),
        operations_added=tuple(sorted(new_ops - old_ops)) if old_ops is not None else (),
        operations_removed=tuple(sorted(old_ops - new_ops)) if old_ops is not None else (),
        auth_changed=auth_changed,
        api_host_changed=host_changed,
        reconsent_required=reconsent,
        operations_changed=operations.changed,
        grants_removed=grants_removed,
    )


def operation_keys(tools: Iterable[Tool | ToolSummary]) -> set[str]:
    """The "METHOD /path" of each tool: how refresh diffs name operations."""
    return {f"{tool.method.upper()} {tool.path}" for tool in tools}


def _operation_changes(
    old_body: str | None, new_body: str | None, old_namespace: str, found: _Discovered
) -> OperationChanges:
    """What the refreshed spec changes in the stored one's operations (nothing if unreadable)."""
    if old_body is None or new_body is None:
        return OperationChanges((), ())
    try:
        old_tools = convert(load_spec(old_body.encode()), namespace=old_namespace).tools
        new_tools = convert(
            load_spec(new_body.encode()), namespace=found.manifest.name_for_model
        ).tools
    except SpecError:
        return OperationChanges((), ())
    return compare_operations(old_tools, new_tools)


def _operations_of(spec_body: str | None, namespace: str) -> set[str] | None:
    """The "METHOD /path" of each operation in a stored spec; None when it cannot be read."""
    if spec_body is None:
        return None
    try:
        toolset = convert(load_spec(spec_body.encode()), namespace=namespace)
    except SpecError:
        return None
    return operation_keys(toolset.tools)


async def _discover(ctx: RegistryContext, url: str) -> _Discovered:
    report = await check_url(url, ctx.client, dev_mode=ctx.settings.dev_mode)
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    lenient = False
    if errors:
        eligible = all(f.code in LENIENT_CODES for f in errors)
        if not (eligible and ctx.settings.lenient_install):
            raise _refusal(report, errors, eligible=eligible)
        lenient = True
    manifest = report.manifest
    if (
        manifest is None
        or report.spec_url is None
        or report.api_base_url is None
        or report.root_domain is None
    ):
        raise ManifestError(
            f"the plugin at {url} could not be read completely (manifest, spec or API base URL)",
            [],
            where=report.manifest_url or url,
            fix=f"run `powerstrip check {url}` to see what is missing",
        )
    _refuse_own_urls(ctx, report, manifest)
    body, etag, last_modified = await _fetch_spec(ctx, report.spec_url, report.manifest_url)
    return _Discovered(
        report=report,
        manifest=manifest,
        manifest_json=manifest_json(manifest),
        spec_url=report.spec_url,
        api_base_url=report.api_base_url,
        root_domain=report.root_domain,
        lenient=lenient,
        spec_body=body,
        spec_etag=etag,
        spec_last_modified=last_modified,
    )


def _refuse_own_urls(ctx: RegistryContext, report: CheckReport, manifest: Manifest) -> None:
    """Refuse a plugin that names this host in a URL the host or a user's browser will open.

    The guarded client already refuses to call the host; a logo, legal page or OAuth page on the
    host's own origin would make a user's browser open the host's API as that user instead.
    """
    base = report.manifest_url or report.target
    urls = [
        ("api.url", report.spec_url or manifest.api.url),
        ("api base URL", report.api_base_url or ""),
        ("logo_url", manifest.logo_url),
        ("legal_info_url", manifest.legal_info_url),
    ]
    if isinstance(manifest.auth, OAuthAuth):
        urls += [
            ("auth.client_url", manifest.auth.client_url),
            ("auth.authorization_url", manifest.auth.authorization_url),
        ]
    for where, url in urls:
        if not url or url.startswith("data:"):
            continue
        try:
            parts = urlsplit(urljoin(base, url))
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            continue  # malformed: the manifest rules report it
        if ctx.client.policy.own.is_own_origin(parts.hostname or "", port):
            # An unusable manifest (422), like one whose API is the host's own address (PS004).
            raise ManifestError(
                f"the plugin's {where} is on this Powerstrip server's own address",
                [],
                where=base,
                fix="serve every URL of the plugin from the plugin's own host, not this server's",
            )


async def _fetch_spec(
    ctx: RegistryContext, spec_url: str, manifest_url: str | None
) -> tuple[str | None, str | None, str | None]:
    # check_url keeps no spec bytes, so the body and its validators are fetched once more; a
    # failure here only leaves the spec cache cold (the runtime fetches the spec each turn).
    try:
        response = await ctx.client.fetch(spec_url, redirect_policy=None, origin=manifest_url)
    except NetError as exc:
        logger.warning("registry.spec_fetch_failed url=%s error=%s", spec_url, exc.message)
        return None, None, None
    if not response.is_success:
        return None, None, None
    return response.text, response.headers.get("etag"), response.headers.get("last-modified")


# Findings that say the plugin's server could not be reached or answered badly (a 502 at the
# API), as opposed to a plugin that answered with something unusable (a 422).
_UNREACHABLE = frozenset({"PS001", "PS002", "PS003", "PS006", "PS007"})


def _refusal(
    report: CheckReport, errors: list[Finding], *, eligible: bool
) -> NetError | ManifestError | SpecError:
    listed = "; ".join(f"{f.code} at {f.location}: {f.message}" for f in errors)
    fix = f"fix the errors (`powerstrip check {report.target}` lists them with fixes)"
    if eligible:
        fix += (
            ", or set POWERSTRIP_LENIENT_INSTALL=true to install it anyway, marked lenient "
            "(only length and charset errors allow it)"
        )
    message = f"the plugin has {len(errors)} error(s): {listed}"
    where = report.manifest_url or report.target
    if all(f.code in _UNREACHABLE for f in errors):
        return NetError(
            message, where=where, fix="check that the plugin is up and its URL right, then retry"
        )
    if any(f.code.startswith("PS3") for f in errors):
        return SpecError(message, errors, where=where, fix=fix)
    return ManifestError(message, errors, where=where, fix=fix)
    return RegistryError(
        f"the plugin has {len(errors)} error(s): {listed}",
        where=report.manifest_url or report.target,
        fix=fix,
    )
