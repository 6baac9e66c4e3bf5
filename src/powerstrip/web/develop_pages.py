"""Develop your own plugin (check, add, register, verify) and the admin pages (review, users)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from powerstrip.errors import AccessError, NotFoundError, PowerstripError
from powerstrip.findings import Severity
from powerstrip.host import UserInfo
from powerstrip.web.chat_pages import sidebar
from powerstrip.web.door import check_plugin
from powerstrip.web.render import page
from powerstrip.web.route import WebRoute
from powerstrip.web.security import CheckedForm, CurrentVisitor, WebHost, WebUser

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)


async def _develop(
    host: WebHost, visitor: CurrentVisitor, user: WebUser, status: int = 200, **context: Any
) -> Response:
    return page(
        host,
        visitor,
        "develop.html",
        status=status,
        entries=await host.plugins.store(user),
        chats=await sidebar(host, user),
        **(
            {"report": None, "url": "", "registration": None, "error": None, "notice": None}
            | context
        ),
    )


@router.get("/develop")
async def develop(host: WebHost, visitor: CurrentVisitor, user: WebUser) -> Response:
    return await _develop(host, visitor, user)


@router.post("/develop/check")
async def check(
    host: WebHost, visitor: CurrentVisitor, user: WebUser, form: CheckedForm
) -> Response:
    """`powerstrip check` on a URL: every finding with its fix, before anything is stored."""
    url = form.get("url", "").strip()
    try:
        report = await check_plugin(host, user, url)
    except PowerstripError as exc:
        return await _develop(host, visitor, user, status=422, url=url, error=str(exc))
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    findings = sorted(report.findings, key=lambda f: order.get(f.severity, 3))
    return await _develop(host, visitor, user, url=url, report=report, findings=findings)


@router.post("/develop/add")
async def add(host: WebHost, visitor: CurrentVisitor, user: WebUser, form: CheckedForm) -> Response:
    url = form.get("url", "").strip()
    try:
        info = await host.plugins.add(user, url)
    except PowerstripError as exc:
        return await _develop(host, visitor, user, status=422, url=url, error=str(exc))
    return await _develop(
        host, visitor, user, notice=f"{info.name_for_model} was added as plugin {info.id}."
    )


@router.post("/develop/{plugin_id}/register")
async def register(
    plugin_id: int, host: WebHost, visitor: CurrentVisitor, user: WebUser, form: CheckedForm
) -> Response:
    """Register as the plugin's developer: the service key or OAuth client, and the token."""
    try:
        registration = await host.plugins.register(
            user,
            plugin_id,
            service_key=form.get("service_key") or None,
            client_id=form.get("client_id") or None,
            client_secret=form.get("client_secret") or None,
        )
    except PowerstripError as exc:
        if isinstance(exc, NotFoundError):
            raise
        return await _develop(host, visitor, user, status=422, error=str(exc))
    return await _develop(
        host,
        visitor,
        user,
        registration=registration,
        registered=plugin_id,
        publish_as=json.dumps(registration.publish_as, indent=2),
    )


@router.post("/develop/{plugin_id}/verify")
async def verify(
    plugin_id: int, host: WebHost, visitor: CurrentVisitor, user: WebUser, form: CheckedForm
) -> Response:
    try:
        await host.plugins.verify_token(user, plugin_id)
    except PowerstripError as exc:
        if isinstance(exc, NotFoundError):
            raise
        return await _develop(host, visitor, user, status=422, error=str(exc))
    return await _develop(
        host, visitor, user, notice="The live manifest carries the token: the plugin is live."
    )


def _require_admin(user: UserInfo) -> None:
    if not user.is_admin:
        # Not a 403: the admin pages do not exist for anyone else.
        raise NotFoundError("no such page", where="admin", fix="ask an admin")


@router.get("/admin")
async def admin(
    host: WebHost, visitor: CurrentVisitor, user: WebUser, notice: str = ""
) -> Response:
    _require_admin(user)
    entries = await host.plugins.store(user, include_banned=True)
    return page(
        host,
        visitor,
        "admin.html",
        entries=entries,
        users=await host.users.list_users(user),
        cap=host.settings.unverified_install_cap,
        chats=await sidebar(host, user),
        notice={"added": "The account is made."}.get(notice),
        error=None,
    )


@router.post("/admin/plugins/{plugin_id}/{flag}")
async def set_flag(
    plugin_id: int, flag: str, host: WebHost, user: WebUser, form: CheckedForm
) -> Response:
    _require_admin(user)
    value = form.get("value") == "true"
    if flag == "verified":
        await host.plugins.set_verified(user, plugin_id, value)
    elif flag == "banned":
        await host.plugins.ban(user, plugin_id, value)
    else:
        raise NotFoundError("no such page", where="admin", fix="verify or ban")
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/users")
async def add_user(
    host: WebHost, visitor: CurrentVisitor, user: WebUser, form: CheckedForm
) -> Response:
    _require_admin(user)
    try:
        await host.accounts.add_user(
            user,
            form.get("username", ""),
            form.get("password", ""),
            admin=form.get("admin") == "on",
        )
    except (PowerstripError, AccessError) as exc:
        return page(
            host,
            visitor,
            "admin.html",
            status=400,
            entries=await host.plugins.store(user, include_banned=True),
            users=await host.users.list_users(user),
            chats=await sidebar(host, user),
            cap=host.settings.unverified_install_cap,
            notice=None,
            error=str(exc),
        )
    return RedirectResponse("/admin?notice=added", status_code=303)
