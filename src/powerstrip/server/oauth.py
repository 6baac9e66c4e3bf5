"""The OAuth pages a user's browser visits: `/aip/ID/oauth/begin` and `/aip/ID/oauth/callback`.

`begin` reads a signed sign-in ticket (see `powerstrip.host.sign_in_links`), sets a fresh session
cookie scoped to this plugin's OAuth paths, and redirects to the provider. The provider sends the
browser back to `callback`, which accepts the `state` only together with that cookie: a callback
URL replayed in, or planted into, another browser finds no matching session.
"""

from __future__ import annotations

import hashlib
import html
import logging
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from powerstrip.errors import PowerstripError
from powerstrip.server.deps import CurrentHost

__all__ = ["router"]

logger = logging.getLogger(__name__)

router = APIRouter(tags=["oauth"], include_in_schema=False)


def _cookie_name(plugin_id: int) -> str:
    return f"powerstrip_oauth_{plugin_id}"


def _session_id(nonce: str) -> str:
    # The store keeps a digest: the cookie's value is never written anywhere but the browser.
    return hashlib.sha256(nonce.encode()).hexdigest()


def _page(title: str, text: str, status: int = 200) -> HTMLResponse:
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        '<body style="font-family:system-ui;max-width:36rem;margin:4rem auto">'
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status)


@router.get("/aip/{plugin_id}/oauth/begin")
async def begin(plugin_id: int, ticket: str, host: CurrentHost) -> Response:
    try:
        owner = host.sign_in_links.read(ticket, plugin_id)
        nonce = secrets.token_urlsafe(32)
        url = await host.registry.begin_oauth(owner.user_id, plugin_id, _session_id(nonce))
    except PowerstripError as exc:
        return _page("Sign-in could not start", str(exc), 400)
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        _cookie_name(plugin_id),
        nonce,
        max_age=host.settings.oauth_state_ttl_seconds,
        path=f"/aip/{plugin_id}/oauth",
        secure=host.settings.public_url.startswith("https://"),
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/aip/{plugin_id}/oauth/callback")
async def callback(plugin_id: int, request: Request, host: CurrentHost) -> Response:
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
        await host.registry.finish_oauth(plugin_id, _session_id(nonce), code, state)
    except PowerstripError as exc:
        response = _page("Sign-in failed", str(exc), 400)
    else:
        response = _page("Signed in", "The plugin is ready. You can close this window.")
    response.delete_cookie(_cookie_name(plugin_id), path=f"/aip/{plugin_id}/oauth")
    return response
