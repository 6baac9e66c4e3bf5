"""The OAuth pages a user's browser visits: `/aip/ID/oauth/begin` and `/aip/ID/oauth/callback`.

`begin` reads a signed sign-in ticket (see `powerstrip.host.sign_in_links`) and shows who is
connecting which plugin and where the browser goes next; continuing (a POST) sets a fresh session
cookie scoped to this plugin's OAuth paths and redirects to the provider. Continuing is accepted
only from the host's own page, in the browser that was shown it (origin headers, and a form
token bound to a cookie the page set): otherwise another site could post its owner's ticket
from a victim's browser and attach the victim's provider login to the attacker (login CSRF).
The provider sends the browser back to `callback`, which accepts the `state` only together with
that cookie: a callback URL replayed in, or planted into, another browser finds no matching
session.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import secrets
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from powerstrip.errors import PowerstripError
from powerstrip.host import Host
from powerstrip.server.deps import CurrentHost
from powerstrip.server.input_types import PluginId
from powerstrip.server.origin import cross_site_refusal

__all__ = ["router"]

logger = logging.getLogger(__name__)

router = APIRouter(tags=["oauth"], include_in_schema=False)


def _cookie_name(plugin_id: int) -> str:
    return f"powerstrip_oauth_{plugin_id}"


def _form_cookie_name(plugin_id: int) -> str:
    return f"powerstrip_signin_form_{plugin_id}"


def _session_id(nonce: str) -> str:
    # The store keeps a digest: the cookie's value is never written anywhere but the browser.
    return hashlib.sha256(nonce.encode()).hexdigest()


def _page(title: str, text: str, status: int = 200, *, raw: bool = False) -> HTMLResponse:
    """A small page; `text` is escaped unless `raw` (markup built here, values escaped)."""
    content = text if raw else f"<p>{html.escape(text)}</p>"
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        '<body style="font-family:system-ui;max-width:36rem;margin:4rem auto">'
        f"<h1>{html.escape(title)}</h1>{content}</body></html>"
    )
    # The pages must not be framed (a framed Continue button could be clickjacked).
    return HTMLResponse(body, status_code=status, headers={"X-Frame-Options": "DENY"})


@router.get("/aip/{plugin_id}/oauth/begin")
async def confirm(plugin_id: PluginId, ticket: str, host: CurrentHost) -> Response:
    """Say who is signing in to what, where the browser goes next, and ask to continue.

    A link opened by someone else must not silently attach *their* provider account to the
    user named in the ticket, nor silently send a browser to a site a plugin's manifest named.
    The page sets a random cookie and carries a token bound to it and to the ticket: only a
    browser that was shown this page can continue (see `begin`).
    """
    try:
        owner = host.sign_in_links.read(ticket, plugin_id)
        if await host.sign_in_links.was_used(host.sessions, ticket):
            return _page(
                "This sign-in link was already used",
                "Each sign-in link starts one sign-in only. If the sign-in did not finish, ask "
                "for a new link (`powerstrip plugins sign-in` or the plugin store).",
                400,
            )
        name, provider = await host.plugins.sign_in_view(plugin_id)
        user = await host.users.get(owner.user_id)
    except PowerstripError as exc:
        return _page("Sign-in could not start", str(exc), 400)
    browser_nonce = secrets.token_urlsafe(32)
    form_token = host.sign_in_links.form_token(ticket, browser_nonce)
    body = (
        f"<p>You are about to connect <b>{html.escape(name)}</b> to the Powerstrip account "
        f"<b>{html.escape(user.username)}</b>. Next you sign in at "
        f"<b>{html.escape(provider or 'the plugin provider')}</b>, and Powerstrip will call the "
        f"plugin with that sign-in for {html.escape(user.username)}.</p>"
        "<p>If you did not start this, or you are not "
        f"{html.escape(user.username)}, close this page.</p>"
        f'<form method="post"><input type="hidden" name="ticket" value="{html.escape(ticket)}">'
        f'<input type="hidden" name="csrf" value="{html.escape(form_token)}">'
        '<button type="submit">Continue to sign in</button></form>'
    )
    response = _page("Connect a plugin", body, raw=True)
    # Strict: a cross-site post never carries it, whatever the Origin checks make of it.
    _set_flow_cookie(
        response,
        host,
        plugin_id,
        _form_cookie_name(plugin_id),
        browser_nonce,
        max_age=host.sign_in_links.ttl_seconds,
        samesite="strict",
    )
    return response


@router.post("/aip/{plugin_id}/oauth/begin")
async def begin(plugin_id: PluginId, request: Request, host: CurrentHost) -> Response:
    """Continue a sign-in: same-origin, from the browser that was shown the page; redirect."""
    refused = cross_site_refusal(request.headers, host.settings.public_url)
    if refused:
        return _page("Sign-in refused", refused, 403)
    form = await request.form()
    ticket, form_token = form.get("ticket"), form.get("csrf")
    browser_nonce = request.cookies.get(_form_cookie_name(plugin_id), "")
    if not isinstance(ticket, str):
        return _page("Sign-in could not start", "The sign-in form carried no ticket.", 400)
    expected = host.sign_in_links.form_token(ticket, browser_nonce)
    if (
        not browser_nonce
        or not isinstance(form_token, str)
        or not form_token.isascii()
        or not hmac.compare_digest(form_token, expected)
    ):
        return _page(
            "Sign-in refused",
            "This browser was not shown the sign-in page for this link (or took too long): "
            "open the sign-in link again, read the page, and continue from there.",
            403,
        )
    try:
        owner = host.sign_in_links.read(ticket, plugin_id)
        await host.sign_in_links.use(host.sessions, ticket)
        nonce = secrets.token_urlsafe(32)
        url = await host.plugins.begin_oauth(owner.user_id, plugin_id, _session_id(nonce))
    except PowerstripError as exc:
        return _page("Sign-in could not start", str(exc), 400)
    response = RedirectResponse(url, status_code=303)
    response.delete_cookie(_form_cookie_name(plugin_id), path=f"/aip/{plugin_id}/oauth")
    # Lax: the provider's redirect back to the callback is a cross-site top-level GET.
    _set_flow_cookie(
        response,
        host,
        plugin_id,
        _cookie_name(plugin_id),
        nonce,
        max_age=host.settings.oauth_state_ttl_seconds,
        samesite="lax",
    )
    return response


def _set_flow_cookie(
    response: Response,
    host: Host,
    plugin_id: int,
    name: str,
    value: str,
    *,
    max_age: int,
    samesite: Literal["lax", "strict"],
) -> None:
    """A cookie of one plugin's sign-in flow: HttpOnly, for its /aip pages only, Secure on HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=f"/aip/{plugin_id}/oauth",
        secure=host.settings.public_url.startswith("https://"),
        httponly=True,
        samesite=samesite,
    )


@router.get("/aip/{plugin_id}/oauth/callback")
async def callback(plugin_id: PluginId, request: Request, host: CurrentHost) -> Response:
    query = request.query_params
    if "error" in query:
        # The provider's own words, escaped: the user declined, or the provider refused.
        reason = query.get("error_description") or query["error"]
        return _page("Sign-in was not completed", f"The provider said: {reason[:300]}", 400)
    code, state = query.get("code"), query.get("state")
    nonce = request.cookies.get(_cookie_name(plugin_id))
    if not code or not state:
        return _page("Sign-in failed", "The provider sent no code or state back.", 400)
    if not nonce:
        return _page(
            "Sign-in failed",
            "This browser did not start the sign-in (or took too long): start it again.",
            400,
        )
    try:
        await host.plugins.finish_oauth(plugin_id, _session_id(nonce), code, state)
    except PowerstripError as exc:
        response = _page("Sign-in failed", str(exc), 400)
    else:
        response = _page("Signed in", "The plugin is ready. You can close this window.")
    response.delete_cookie(_cookie_name(plugin_id), path=f"/aip/{plugin_id}/oauth")
    return response
