"""The plugin store: installed and available plugins, installing per auth scheme, logos."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from powerstrip.errors import NotFoundError, PowerstripError
from powerstrip.host import PluginDiff
from powerstrip.web.chat_pages import sidebar
from powerstrip.web.render import page
from powerstrip.web.route import WebRoute
from powerstrip.web.security import CheckedForm, CurrentVisitor, WebHost, WebUser

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)

_TABS = ("all", "installed", "new")


async def _store(
    host: WebHost,
    visitor: CurrentVisitor,
    user: WebUser,
    *,
    tab: str = "all",
    q: str = "",
    notice: str | None = None,
    error: str | None = None,
    diff: PluginDiff | None = None,
    ask_key: int | None = None,
    status: int = 200,
) -> Response:
    entries = await host.plugins.store(user)
    if tab == "installed":
        entries = [e for e in entries if e.installed]
    elif tab == "new":
        entries = sorted(entries, key=lambda e: e.plugin.id, reverse=True)[:12]
    if q:
        needle = q.casefold()
        entries = [
            e
            for e in entries
            if needle in e.name_for_human.casefold() or needle in e.description_for_human.casefold()
        ]
    return page(
        host,
        visitor,
        "store.html",
        status=status,
        entries=entries,
        tab=tab if tab in _TABS else "all",
        q=q,
        notice=notice,
        error=error,
        diff=diff,
        ask_key=ask_key,
        cap=host.settings.unverified_install_cap,
        chats=await sidebar(host, user),
    )


@router.get("/plugins")
async def store(
    host: WebHost,
    visitor: CurrentVisitor,
    user: WebUser,
    tab: str = "all",
    q: str = "",
    installed: int | None = None,
    removed: int | None = None,
) -> Response:
    notice = None
    if installed is not None:
        notice = "The plugin is installed: pick it in a new chat."
    elif removed is not None:
        notice = "The plugin is uninstalled and your credentials for it are deleted."
    return await _store(host, visitor, user, tab=tab, q=q, notice=notice)


@router.post("/plugins/add")
async def add(host: WebHost, visitor: CurrentVisitor, user: WebUser, form: CheckedForm) -> Response:
    """Add an (unverified) plugin to the store from its domain or URL."""
    try:
        info = await host.plugins.add(user, form.get("url", "").strip())
    except PowerstripError as exc:
        if isinstance(exc, NotFoundError):
            raise
        return await _store(host, visitor, user, error=str(exc), status=422)
    return await _store(
        host, visitor, user, notice=f"{info.name_for_model} is in the store now: install it below."
    )


@router.post("/plugins/{plugin_id}/install")
async def install(
    plugin_id: int, host: WebHost, visitor: CurrentVisitor, user: WebUser, form: CheckedForm
) -> Response:
    """Install: at once (none, service_http), with the user's key (user_http), or then sign in
    at the provider in this same tab and come back (oauth)."""
    entry = await host.plugins.get(user, plugin_id)
    key = form.get("user_key", "").strip() or None
    if entry.plugin.auth_type == "user_http" and key is None:
        return await _store(host, visitor, user, ask_key=plugin_id)
    try:
        result = await host.plugins.install(user, plugin_id, user_key=key)
    except PowerstripError as exc:
        if isinstance(exc, NotFoundError):
            raise
        return await _store(host, visitor, user, error=str(exc), status=409)
    if result.sign_in_url:
        return RedirectResponse(result.sign_in_url, status_code=303)
    return RedirectResponse(f"/plugins?installed={plugin_id}", status_code=303)


@router.post("/plugins/{plugin_id}/sign-in")
async def sign_in(plugin_id: int, host: WebHost, user: WebUser, form: CheckedForm) -> Response:
    return RedirectResponse(await host.plugins.sign_in_link(user, plugin_id), status_code=303)


@router.post("/plugins/{plugin_id}/uninstall")
async def uninstall(plugin_id: int, host: WebHost, user: WebUser, form: CheckedForm) -> Response:
    await host.plugins.uninstall(user, plugin_id)
    return RedirectResponse(f"/plugins?removed={plugin_id}", status_code=303)


@router.post("/plugins/{plugin_id}/refresh")
async def refresh(
    plugin_id: int, host: WebHost, visitor: CurrentVisitor, user: WebUser, form: CheckedForm
) -> Response:
    try:
        diff = await host.plugins.refresh(user, plugin_id)
    except PowerstripError as exc:
        if isinstance(exc, NotFoundError):
            raise
        return await _store(host, visitor, user, error=str(exc), status=422)
    return await _store(host, visitor, user, diff=diff)


@router.get("/logos/{plugin_id}")
async def logo(plugin_id: int, host: WebHost, user: WebUser) -> Response:
    """The plugin's logo as the host fetched and checked it, or the placeholder."""
    entry = await host.plugins.get(user, plugin_id)
    found = await host.logos.get(entry.logo_url, origin=entry.plugin.manifest_url)
    if found is None:
        return RedirectResponse("/static/plugin.svg", status_code=302)
    return Response(
        found.content,
        media_type=found.media_type,
        headers={"Cache-Control": "private, max-age=86400", "Content-Disposition": "inline"},
    )
