"""What every route depends on: the host, and the signed-in user.

The REST API takes `Authorization: Bearer pst_...` (tokens from `powerstrip users token`), or the
web app's session cookie together with its `X-CSRF-Token` header (the page's own scripts send
both; another site's page can send the cookie but cannot know the token). In
development mode a request without credentials from this machine (a loopback address) acts as
the admin user `dev`, so `make run` works in a browser and with curl at once; a request with a
wrong token is refused even then, and so is a request a Powerstrip host sent (it carries
`OUTBOUND_HEADER`): a plugin pointed at this server must never make the host act as `dev`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import cookie_parser

from powerstrip.errors import AccessError, SignInRequiredError
from powerstrip.host import (
    DEV_USER,
    OUTBOUND_HEADER,
    Host,
    UserInfo,
    require_admin,
)

__all__ = [
    "CSRF_HEADER",
    "DEV_USER",
    "SESSION_COOKIE",
    "USER_STATE_KEY",
    "Admin",
    "CurrentHost",
    "CurrentUser",
    "authenticate",
    "get_host",
    "get_user",
    "require_scope",
]


# `async def`, as every dependency here: FastAPI runs a plain `def` one in a worker thread, a
# hop that cost more than the dependency itself on every request.
async def get_host(request: Request) -> Host:
    host: Host = request.app.state.host
    return host


CurrentHost = Annotated[Host, Depends(get_host)]


# Where the RequestGuard middleware keeps the user it authenticated, in the request's state.
USER_STATE_KEY = "powerstrip.user"

# The web app's session cookie, and the header its scripts send the page's form token in.
SESSION_COOKIE = "powerstrip_session"
CSRF_HEADER = "x-csrf-token"

_SIGN_IN_FIX = "send `Authorization: Bearer TOKEN` with a token from `powerstrip users token`"


async def authenticate(host: Host, headers: Mapping[str, str], client_host: str) -> UserInfo:
    """The user the request's headers name; SignInRequiredError when there is none.

    Headers only: the middleware calls this before any of the body is read.
    """
    header = headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if header:
        user = await host.users.authenticate(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise SignInRequiredError(
                "the API token is not valid", where="Authorization header", fix=_SIGN_IN_FIX
            )
        return user
    session = _cookie(headers, SESSION_COOKIE)
    if session:
        user = await host.accounts.session_user(session)
        if user is None:
            raise SignInRequiredError(
                "the web session has ended", where="session cookie", fix="sign in again"
            )
        if not host.accounts.check_form_token(session, headers.get(CSRF_HEADER, "")):
            raise SignInRequiredError(
                "a request with the session cookie must carry the page's form token",
                where=f"{CSRF_HEADER} header",
                fix="call the API from the web app's own pages, or with an API token",
            )
        return user
    if OUTBOUND_HEADER in headers:
        raise SignInRequiredError(
            "a request sent by a Powerstrip host never acts as a local user",
            where="Authorization header",
            fix="plugins must not point at a Powerstrip server; call it with an API token",
        )
    if host.settings.dev_mode and _is_loopback(client_host):
        return await host.users.ensure(DEV_USER, admin=True)
    raise SignInRequiredError(
        "this API needs a signed-in user", where="Authorization header", fix=_SIGN_IN_FIX
    )


async def get_user(request: Request, host: CurrentHost) -> UserInfo:
    """The signed-in user: authenticated by the RequestGuard before the body was read."""
    known = request.scope.get("state", {}).get(USER_STATE_KEY)
    if isinstance(known, UserInfo):
        return known
    return await authenticate(host, request.headers, request.client.host if request.client else "")


def _cookie(headers: Mapping[str, str], name: str) -> str:
    raw = headers.get("cookie", "")
    return cookie_parser(raw).get(name, "") if name in raw else ""


def _is_loopback(address: str) -> bool:
    # Development mode trusts a caller without a token only on this machine: a dev server
    # listening on all interfaces must not make every network neighbour its admin.
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


CurrentUser = Annotated[UserInfo, Depends(get_user)]


async def get_admin(user: CurrentUser) -> UserInfo:
    require_admin(user)
    return user


Admin = Annotated[UserInfo, Depends(get_admin)]


def require_scope(scope: str) -> Callable[[UserInfo], Awaitable[UserInfo]]:
    """A dependency that refuses a token without `scope` (403, naming the scope)."""

    async def check(user: CurrentUser) -> UserInfo:
        if not user.may(scope):
            raise AccessError(
                f"this API token does not have the {scope!r} scope",
                where="Authorization header",
                fix=f"use a token issued with the {scope} scope",
            )
        return user

    return check
