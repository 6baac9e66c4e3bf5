"""What the plugin store shows a user: every plugin, with that user's install state."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from powerstrip.registry.catalog import PluginInfo, plugin_info
from powerstrip.registry.context import RegistryContext
from powerstrip.store import Install, Plugin

__all__ = ["StoreEntry", "list_plugins"]


@dataclass(frozen=True, slots=True)
class StoreEntry:
    """A plugin as one user sees it in the store."""

    plugin: PluginInfo
    name_for_human: str
    description_for_human: str
    logo_url: str
    installed: bool
    needs_reconsent: bool
    install_count: int


async def list_plugins(
    ctx: RegistryContext,
    user_id: int,
    *,
    installed_only: bool = False,
    include_banned: bool = False,
) -> list[StoreEntry]:
    """Every plugin not banned (or only the user's installs), ordered by id.

    `include_banned` lists banned plugins too, for admins who may lift a ban.
    """
    async with ctx.sessions() as session:
        rows = await session.execute(
            select(Install.plugin_id, func.count()).group_by(Install.plugin_id)
        )
        counts = {plugin_id: count for plugin_id, count in rows.all()}
        mine = {
            row.plugin_id: row
            for row in (await session.execute(select(Install).where(Install.user_id == user_id)))
            .scalars()
            .all()
        }
        statement = select(Plugin).order_by(Plugin.id)
        if not include_banned:
            statement = statement.where(Plugin.banned.is_(False))
        plugins = (await session.execute(statement)).scalars().all()
    entries = []
    for plugin in plugins:
        install = mine.get(plugin.id)
        if installed_only and install is None:
            continue
        manifest = plugin.manifest
        entries.append(
            StoreEntry(
                plugin=plugin_info(plugin),
                name_for_human=str(manifest.get("name_for_human") or plugin.name_for_model),
                description_for_human=str(manifest.get("description_for_human") or ""),
                logo_url=str(manifest.get("logo_url") or ""),
                installed=install is not None,
                needs_reconsent=bool(install is not None and install.needs_reconsent),
                install_count=int(counts.get(plugin.id, 0)),
            )
        )
    return entries
