"""The consent page of MCP authorization, and disconnecting an MCP client in the settings.

`/oauth/authorize` (the SDK's handler, `powerstrip.mcp.oauth`) sends the browser here with the
checked request, signed by the host. The person must be signed in to the web app; they see who
asks, what it will be able to do and where the browser goes next, and answer with a form bound
to their session (the form token), which only the host's own page can send. The answer goes
back to the client's redirect URI with the code (or `access_denied`) and its `state`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Path
from starlette.responses import RedirectResponse, Response

from powerstrip.errors import OAuthError
from powerstrip.server.input_types import MAX_ROW_ID
from powerstrip.web.render import page
from powerstrip.web.route import WebRoute, error_page
from powerstrip.web.security import (
    CONTENT_SECURITY_POLICY,
    CheckedForm,
    CurrentVisitor,
    WebHost,
    WebUser,
)

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)

_CONSENT = "/oauth/consent"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _refused(exc: OAuthError) -> Response:
    return error_page(400, "This connection request cannot be used", exc.message)


@router.get(_CONSENT)
async def consent_page(host: WebHost, visitor: CurrentVisitor, request: str = "") -> Response:
    try:
        asked = host.mcp_oauth.read_consent_ticket(request)
    except OAuthError as exc:
        return _refused(exc)
    if visitor.user is None:
        # Back here, with the request, once signed in (the sign-in page takes a local path).
        back = quote(f"{_CONSENT}?request={request}", safe="")
        return RedirectResponse(f"/sign-in?next={back}", status_code=303)
    client = await host.mcp_oauth.client(asked.client_id)
    if client is None:
        return error_page(
            404,
            "This MCP client is not registered",
            "Start connecting again from your MCP client.",
        )
    target = urlsplit(asked.redirect_uri)
    response = page(
        host,
        # A page of its own, like the sign-in page: no sidebar of chats around the question.
        replace(visitor, user=None),
        "mcp_consent.html",
        person=visitor.user,
        client=client,
        ticket=request,
        redirect_target=f"{target.scheme}://{target.netloc}{target.path}",
    )
    # The answer redirects to the client: a form may lead there (CSP's form-action also
    # covers the redirect after a form is sent), and nowhere else.
    response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {_origin(asked.redirect_uri)}"
    )
    return response


@router.post(_CONSENT)
async def consent_answer(host: WebHost, user: WebUser, form: CheckedForm) -> Response:
    try:
        asked = host.mcp_oauth.read_consent_ticket(form.get("request", ""))
    except OAuthError as exc:
        return _refused(exc)
    if form.get("decision") == "allow":
        target = await host.mcp_oauth.approve(user, asked)
    else:
        target = host.mcp_oauth.deny(asked)
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


@router.post("/settings/mcp-clients/{connection_id}/revoke")
async def disconnect(
    connection_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    host: WebHost,
    user: WebUser,
    form: CheckedForm,
) -> Response:
    await host.mcp_oauth.disconnect(user, connection_id)
    return RedirectResponse("/settings?done=mcp-disconnected", status_code=303)
