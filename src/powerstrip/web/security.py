"""Who is looking at a page, and the fences every page and form of the web app has.

- Every answer carries a strict Content-Security-Policy (scripts and styles from this origin
  only, no inline script, nothing framed, no plugin origin reachable), `nosniff`, no referrer
  to other sites and no framing.
- A signed-in browser holds an HttpOnly, SameSite=Lax session cookie (Secure behind HTTPS);
  its form token is an HMAC of that cookie. Before signing in, a random pre-session cookie plays
  the same part, so the sign-in and sign-up forms are protected too (no login CSRF).
- Every state-changing request must carry the form token (a `csrf` field, or the
  `X-CSRF-Token` header from the page's scripts) and must not come from another site.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from powerstrip.host import Host, UserInfo
from powerstrip.server.deps import CSRF_HEADER, SESSION_COOKIE
from powerstrip.server.origin import origin_of

__all__ = [
    "ANON_COOKIE",
    "CONTENT_SECURITY_POLICY",
    "CheckedForm",
    "CsrfRefused",
    "CurrentVisitor",
    "NeedsSignIn",
    "SecurityHeaders",
    "Visitor",
    "WebHost",
    "WebUser",
    "checked_form",
    "end_session_cookie",
    "get_visitor",
    "set_session_cookie",
    "signed_in",
    "web_host",
]

ANON_COOKIE = "powerstrip_presession"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "frame-src 'none'",
        "worker-src 'self'",
        "manifest-src 'self'",
    ]
)

_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"microphone=(self), camera=(), geolocation=()"),
]


class SecurityHeaders:
    """ASGI middleware: the security headers on every answer of the web app."""

    def __init__(self, app: ASGIApp, skip: tuple[str, ...] = ()) -> None:
        self.app = app
        self.skip = skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.skip):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [pair for pair in _HEADERS if pair[0] not in present]
                if b"cache-control" not in present:
                    # Pages hold a user's conversations: never kept by a shared cache.
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class NeedsSignIn(Exception):  # noqa: N818 - a control-flow signal, answered with a redirect
    """The page needs a signed-in user; the app answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class CsrfRefused(Exception):  # noqa: N818 - answered with a 403 page
    """A state-changing request without its form token, or from another site."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


async def web_host(request: Request) -> Host:
    # async: FastAPI runs a plain function dependency on a worker thread, a hop per request.
    host: Host = request.app.state.host
    return host


WebHost = Annotated[Host, Depends(web_host)]


@dataclass
class Visitor:
    """The browser of this request: its user (if signed in) and its form token."""

    user: UserInfo | None
    session: str
    csrf: str
    new_anon: str = ""

    def remember(self, response: Response, host: Host) -> Response:
        """Set the pre-session cookie on `response` when this request made one."""
        if self.new_anon:
            response.set_cookie(
                ANON_COOKIE,
                self.new_anon,
                httponly=True,
                samesite="lax",
                secure=_secure(host),
                path="/",
            )
        return response


async def get_visitor(request: Request, host: WebHost) -> Visitor:
    session = request.cookies.get(SESSION_COOKIE, "")
    user = await host.accounts.session_user(session) if session else None
    if user is not None:
        return Visitor(user, session, host.accounts.form_token(session))
    anon = request.cookies.get(ANON_COOKIE, "")
    new = ""
    if not anon or len(anon) > 128:
        anon = new = secrets.token_urlsafe(24)
    return Visitor(None, "", host.accounts.form_token("anon:" + anon), new_anon=new)


CurrentVisitor = Annotated[Visitor, Depends(get_visitor)]


async def signed_in(request: Request, visitor: CurrentVisitor) -> UserInfo:
    if visitor.user is None:
        raise NeedsSignIn(request.url.path)
    return visitor.user


WebUser = Annotated[UserInfo, Depends(signed_in)]


async def checked_form(request: Request, visitor: CurrentVisitor, host: WebHost) -> dict[str, str]:
    """The request's form fields, once its origin and its form token are checked."""
    refusal = _cross_site(request, host)
    if refusal:
        raise CsrfRefused(refusal)
    form = await request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    token = request.headers.get(CSRF_HEADER) or fields.get("csrf", "")
    bound = visitor.session or (
        "anon:" + request.cookies.get(ANON_COOKIE, "") if request.cookies.get(ANON_COOKIE) else ""
    )
    if not host.accounts.check_form_token(bound, token):
        raise CsrfRefused(
            "This form is out of date or did not come from Powerstrip's own page. Reload the "
            "page and send it again."
        )
    return fields


CheckedForm = Annotated[dict[str, str], Depends(checked_form)]


def _cross_site(request: Request, host: Host) -> str | None:
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.strip().lower() not in ("same-origin", "none"):
        return f"The browser says this request came from another site ({fetch_site})."
    origin = request.headers.get("origin")
    if origin is not None:
        own = {origin_of(host.settings.public_url), origin_of(str(request.base_url))}
        if origin_of(origin) not in own:
            return "This request came from another site, not from Powerstrip's own page."
    return None


def _secure(host: Host) -> bool:
    return host.settings.public_url.startswith("https://")


def set_session_cookie(response: Response, host: Host, cookie: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=host.settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=_secure(host),
        path="/",
    )
    response.delete_cookie(ANON_COOKIE, path="/")


def end_session_cookie(response: Response, host: Host) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(host)
    )
