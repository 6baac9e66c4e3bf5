"""Signing up, in and out; the account settings: password, sessions, API tokens, and your
data (the history switch, export, deletion: spec §9, on the host's data controls)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from powerstrip.errors import PowerstripError
from powerstrip.web.render import page
from powerstrip.web.route import WebRoute
from powerstrip.web.security import (
    CheckedForm,
    CurrentVisitor,
    WebHost,
    WebUser,
    end_session_cookie,
    set_session_cookie,
)

__all__ = ["router", "safe_next"]

router = APIRouter(route_class=WebRoute)


def safe_next(value: str | None) -> str:
    """A path on this site to go to after signing in; anything else goes home."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


@router.get("/sign-in")
async def sign_in_page(
    request: Request, host: WebHost, visitor: CurrentVisitor, next: str = "/"
) -> Response:
    if visitor.user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    if await host.accounts.has_accounts():
        return page(host, visitor, "sign_in.html", next=safe_next(next), error=None)
    # Nobody has an account yet: the first one to make one becomes the admin.
    return RedirectResponse("/sign-up", status_code=303)


@router.post("/sign-in")
async def sign_in(
    request: Request, host: WebHost, visitor: CurrentVisitor, form: CheckedForm
) -> Response:
    next_path = safe_next(form.get("next"))
    try:
        cookie = await host.accounts.sign_in(
            form.get("username", ""), form.get("password", ""), client=_client(request)
        )
    except PowerstripError as exc:
        return page(
            host,
            visitor,
            "sign_in.html",
            status=401,
            next=next_path,
            error=exc.message,
            username=form.get("username", ""),
        )
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(response, host, cookie)
    return response


@router.get("/sign-up")
async def sign_up_page(host: WebHost, visitor: CurrentVisitor) -> Response:
    if visitor.user is not None:
        return RedirectResponse("/", status_code=303)
    first = not await host.accounts.has_accounts()
    return page(
        host,
        visitor,
        "sign_up.html",
        open=await host.accounts.signups_open(),
        first=first,
        error=None,
    )


@router.post("/sign-up")
async def sign_up(
    request: Request, host: WebHost, visitor: CurrentVisitor, form: CheckedForm
) -> Response:
    username, password = form.get("username", ""), form.get("password", "")
    try:
        if password != form.get("confirm", ""):
            raise _MismatchError()
        await host.accounts.sign_up(username, password)
        cookie = await host.accounts.sign_in(username, password, client=_client(request))
    except _MismatchError:
        error = "the two passwords are not the same"
    except PowerstripError as exc:
        error = exc.message + (f". {exc.fix}" if exc.fix else "")
    else:
        response = RedirectResponse("/", status_code=303)
        set_session_cookie(response, host, cookie)
        return response
    return page(
        host,
        visitor,
        "sign_up.html",
        status=400,
        open=await host.accounts.signups_open(),
        first=not await host.accounts.has_accounts(),
        error=error,
        username=username,
    )


class _MismatchError(Exception):
    pass


@router.post("/sign-out")
async def sign_out(host: WebHost, visitor: CurrentVisitor, form: CheckedForm) -> Response:
    if visitor.session:
        await host.accounts.sign_out(visitor.session)
    response = RedirectResponse("/sign-in", status_code=303)
    end_session_cookie(response, host)
    return response


@router.get("/settings")
async def settings_page(
    host: WebHost, visitor: CurrentVisitor, user: WebUser, done: str = ""
) -> Response:
    return await _settings(host, visitor, user, notice=_NOTICES.get(done))


_NOTICES = {
    "password": "Your password is changed; every other sign-in has ended.",
    "revoked": "The token is revoked.",
    "mcp-disconnected": "The MCP client is disconnected: its tokens no longer open /mcp.",
    "history-on": "Chat history is on: new conversations are kept and listed.",
    "history-off": "Chat history is off: new conversations are not listed, and are deleted "
    "after the retention period.",
    "conversations-deleted": "Every conversation of yours is deleted.",
}


async def _settings(
    host: WebHost,
    visitor: CurrentVisitor,
    user: WebUser,
    *,
    notice: str | None = None,
    error: str | None = None,
    new_token: str | None = None,
    export_url: str | None = None,
    status: int = 200,
) -> Response:
    return page(
        host,
        visitor,
        "settings.html",
        status=status,
        tokens=await host.users.tokens(user),
        mcp_clients=await host.mcp_oauth.connections(user),
        sessions=await host.accounts.session_count(user),
        data=await host.data.settings(user),
        exports=await host.exports.list_exports(user),
        notice=notice,
        error=error,
        new_token=new_token,
        export_url=export_url,
    )


@router.post("/settings/password")
async def change_password(
    host: WebHost, visitor: CurrentVisitor, user: WebUser, form: CheckedForm
) -> Response:
    new = form.get("new", "")
    if new != form.get("confirm", ""):
        return await _settings(
            host, visitor, user, error="the two new passwords are not the same", status=400
        )
    try:
        cookie = await host.accounts.change_password(user, form.get("current", ""), new)
    except PowerstripError as exc:
        return await _settings(host, visitor, user, error=exc.message, status=400)
    response = RedirectResponse("/settings?done=password", status_code=303)
    set_session_cookie(response, host, cookie)
    return response


@router.post("/settings/sign-out-everywhere")
async def sign_out_everywhere(host: WebHost, user: WebUser, form: CheckedForm) -> Response:
    await host.accounts.sign_out_everywhere(user)
    response = RedirectResponse("/sign-in", status_code=303)
    end_session_cookie(response, host)
    return response


@router.post("/settings/tokens")
async def create_token(
    host: WebHost, visitor: CurrentVisitor, user: WebUser, form: CheckedForm
) -> Response:
    scopes = [scope for scope in ("chat", "files", "admin") if form.get(f"scope-{scope}") == "on"]
    issued = await host.users.issue_token(
        user, name=form.get("name", "").strip()[:100], scopes=scopes or ("chat", "files")
    )
    # Shown once, in this answer only (not a redirect: the token must never be in a URL).
    return await _settings(host, visitor, user, new_token=issued.token)


@router.post("/settings/tokens/{token_id}/revoke")
async def revoke_token(token_id: int, host: WebHost, user: WebUser, form: CheckedForm) -> Response:
    await host.users.revoke_token(user, token_id)
    return RedirectResponse("/settings?done=revoked", status_code=303)


@router.post("/settings/data/history")
async def set_history(host: WebHost, user: WebUser, form: CheckedForm) -> Response:
    enabled = form.get("history") == "on"
    await host.data.update(user, history_enabled=enabled)
    return RedirectResponse(
        f"/settings?done={'history-on' if enabled else 'history-off'}", status_code=303
    )


@router.post("/settings/data/export")
async def start_export(
    host: WebHost, visitor: CurrentVisitor, user: WebUser, form: CheckedForm
) -> Response:
    ticket = await host.exports.start(user)
    # The one-time link is shown in this answer only (and mailed when SMTP is set up).
    return await _settings(host, visitor, user, export_url=ticket.download_url)


@router.post("/settings/data/delete-conversations")
async def delete_conversations(
    host: WebHost, visitor: CurrentVisitor, user: WebUser, form: CheckedForm
) -> Response:
    try:
        await host.data.delete_conversations(user, confirm=form.get("confirm", ""))
    except PowerstripError as exc:
        return await _settings(host, visitor, user, error=exc.message, status=400)
    return RedirectResponse("/settings?done=conversations-deleted", status_code=303)


@router.post("/settings/data/delete-account")
async def delete_account(
    host: WebHost, visitor: CurrentVisitor, user: WebUser, form: CheckedForm
) -> Response:
    try:
        await host.data.delete_account(user, confirm=form.get("confirm", ""))
    except PowerstripError as exc:
        return await _settings(host, visitor, user, error=exc.message, status=400)
    response = RedirectResponse("/sign-in", status_code=303)
    end_session_cookie(response, host)
    return response
