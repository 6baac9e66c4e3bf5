"""The four auth schemes of spec §4, as a plugin sees them: what the manifest says, what to check.

Each scheme gives the manifest's `auth` object and checks a request's credentials, returning
the authenticated user id (`None` when the scheme has no users) or raising a 401 PluginError.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from starlette.requests import Request

from powerstrip.sdk.errors import PluginError

__all__ = [
    "NoAuth",
    "OAuth",
    "PluginAuth",
    "ServiceAuth",
    "TokenValidator",
    "UserAuth",
    "UserKeyValidator",
    "credential_key",
]

AuthorizationType = Literal["bearer", "basic"]
# Given a presented credential, the user it belongs to, or None when it is not valid.
UserKeyValidator = Callable[[str], str | Awaitable[str | None] | None]
TokenValidator = Callable[[str], str | Awaitable[str | None] | None]


class PluginAuth(Protocol):
    """What every scheme offers the plugin app."""

    def manifest_entry(self) -> dict[str, Any]:  # Any: JSON values of the manifest
        """The manifest's `auth` object."""
        ...

    async def authenticate(self, request: Request) -> str | None:
        """The authenticated user id (None without users); raise PluginError(401) when refused."""
        ...


def _unauthorized(message: str, scheme: str) -> PluginError:
    return PluginError(401, message, headers={"WWW-Authenticate": scheme})


def _presented(request: Request, kind: AuthorizationType) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    expected = "Bearer" if kind == "bearer" else "Basic"
    if not header:
        raise _unauthorized(f"this plugin needs an Authorization: {expected} header", expected)
    if scheme.lower() != kind or not value.strip():
        raise _unauthorized(f"the Authorization header must use the {expected} scheme", expected)
    return value.strip()


async def _resolve(result: str | Awaitable[str | None] | None) -> str | None:
    if result is None or isinstance(result, str):
        return result
    return await result


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def credential_key(request: Request) -> str:
    """A stable, non-secret key for the caller: a hash of its credential, else its address."""
    header = request.headers.get("authorization")
    if header:
        return "cred:" + hashlib.sha256(header.encode()).hexdigest()[:32]
    return "addr:" + (request.client.host if request.client else "unknown")


@dataclass(frozen=True, slots=True)
class NoAuth:
    """`auth.type: none`: anyone may call."""

    def manifest_entry(self) -> dict[str, Any]:
        return {"type": "none"}

    async def authenticate(self, request: Request) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class ServiceAuth:
    """`service_http`: one key the developer registered with the host, the same for every user."""

    key: str = field(repr=False)
    authorization_type: AuthorizationType = "bearer"
    verification_tokens: dict[str, str] = field(default_factory=dict)

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "type": "service_http",
            "authorization_type": self.authorization_type,
            "verification_tokens": dict(self.verification_tokens),
        }

    async def authenticate(self, request: Request) -> str | None:
        value = _presented(request, self.authorization_type)
        if not _same(value, self.key):
            raise _unauthorized("the service key is not valid", self.authorization_type.title())
        return None


@dataclass(frozen=True, slots=True)
class UserAuth:
    """`user_http`: each user pastes their own key; `validate(key)` says whose it is."""

    validate: UserKeyValidator
    authorization_type: AuthorizationType = "bearer"

    def manifest_entry(self) -> dict[str, Any]:
        return {"type": "user_http", "authorization_type": self.authorization_type}

    async def authenticate(self, request: Request) -> str | None:
        # The key is passed on as the user pasted it, for Basic too: the host does not encode it.
        value = _presented(request, self.authorization_type)
        user = await _resolve(self.validate(value))
        if not user:
            raise _unauthorized("the user key is not valid", self.authorization_type.title())
        return user


@dataclass(frozen=True, slots=True)
class OAuth:
    """`oauth`: users sign in at `client_url`; the host exchanges codes at `authorization_url`.

    URLs may be paths (`/oauth/authorize`): the manifest makes them absolute on the request's
    own host. `validate(access_token)` returns the token's user, or None.
    """

    validate: TokenValidator
    client_url: str
    authorization_url: str
    scope: str = ""
    authorization_content_type: Literal["application/json", "application/x-www-form-urlencoded"] = (
        "application/json"
    )
    verification_tokens: dict[str, str] = field(default_factory=dict)

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "type": "oauth",
            "client_url": self.client_url,
            "scope": self.scope,
            "authorization_url": self.authorization_url,
            "authorization_content_type": self.authorization_content_type,
            "verification_tokens": dict(self.verification_tokens),
        }

    async def authenticate(self, request: Request) -> str | None:
        token = _presented(request, "bearer")
        user = await _resolve(self.validate(token))
        if not user:
            raise _unauthorized("the access token is not valid or has expired", "Bearer")
        return user
