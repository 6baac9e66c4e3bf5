"""`/mcp`: the MCP server over streamable HTTP, for the user whose token is the bearer.

The bearer is a Powerstrip API token with the `chat` scope, or an access token the host's own
authorization server issued to an MCP client (`powerstrip.mcp.oauth`, scope `mcp`). A 401 names
the protected resource metadata (RFC 9728), so a client that does MCP's OAuth finds its way.

Stateless (every POST stands alone, JSON answers): the caller is authenticated on every request,
so no session made with one user's token can ever be used with another's, and any number of
server processes can answer. A request without a valid token is a 401 that names the header; a
browser page from another origin is refused (the token, not a cookie, is the credential, but
nothing but the host's own pages and non-browser clients has any business here).

    endpoint = McpEndpoint(host)
    async with endpoint.running():
        await endpoint(scope, receive, send)
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from mcp.server import ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from powerstrip.errors import SignInRequiredError
from powerstrip.host import ACCESS_PREFIX, MCP_SCOPE, Host, UserInfo
from powerstrip.mcp.oauth import resource_metadata_url
from powerstrip.mcp.server import build_server

__all__ = ["MCP_USER_KEY", "McpEndpoint"]

# Where the endpoint keeps the authenticated user in the request scope's state.
MCP_USER_KEY = "powerstrip.mcp_user"
_FIX = (
    "sign in with MCP's OAuth (the protected resource metadata is named in WWW-Authenticate), "
    "or send `Authorization: Bearer TOKEN` with a token from `powerstrip users token`"
)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class McpEndpoint:
    """The ASGI app of `/mcp` over one host."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.server = build_server(host, self._user, state_key=host.mcp_state_key)
        self.manager = StreamableHTTPSessionManager(
            app=self.server,
            stateless=True,
            json_response=True,
            # Host and Origin are checked here (`_refused`), against the public URL.
            security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            max_request_body_size=host.settings.max_request_bytes,
        )
        self._public_origin = _origin(host.settings.public_url)
        self._challenge = (
            f'Bearer realm="powerstrip", resource_metadata="{resource_metadata_url(host)}", '
            f'scope="{MCP_SCOPE}"'
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The session manager's task group, for the life of the server."""
        async with self.manager.run():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        refusal = await self._refused(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.manager.handle_request(scope, receive, send)

    async def _refused(self, scope: Scope, headers: Headers) -> Response | None:
        origin = headers.get("origin")
        if origin and origin != self._public_origin:
            return _error(403, "AccessError", f"requests from {origin} are not accepted here")
        scheme, _, given = headers.get("authorization", "").partition(" ")
        token = given.strip() if scheme.lower() == "bearer" else ""
        signed_in = await self._authenticate(token) if token else None
        if signed_in is None:
            message = "a valid access token or Powerstrip API token is needed"
            response = _error(401, "SignInRequiredError", message)
            # RFC 6750 §3.1: no error code when no credential came, invalid_token otherwise.
            challenge = self._challenge
            if token:
                challenge += ', error="invalid_token", error_description="the token is not valid"'
            response.headers["www-authenticate"] = challenge
            return response
        if not (signed_in.may("chat") or signed_in.may(MCP_SCOPE)):
            # The tools call plugins for the user: what the chat scope allows.
            return _error(403, "AccessError", "this API token does not have the 'chat' scope")
        scope.setdefault("state", {})[MCP_USER_KEY] = signed_in
        return None

    async def _authenticate(self, token: str) -> UserInfo | None:
        if token.startswith(ACCESS_PREFIX):
            return await self.host.mcp_oauth.authenticate(token)
        return await self.host.users.authenticate(token)

    @staticmethod
    async def _user(ctx: ServerRequestContext[Any, Any]) -> UserInfo:
        request = ctx.request
        state = getattr(request, "scope", {}).get("state", {}) if request is not None else {}
        user = state.get(MCP_USER_KEY)
        if not isinstance(user, UserInfo):
            # Every request passed `_refused` first; this is a request that did not come in
            # through the endpoint at all.
            raise SignInRequiredError(
                "the MCP request carries no signed-in user", where="/mcp", fix=_FIX
            )
        return user


def _error(status: int, kind: str, message: str) -> Response:
    body = {"error": {"type": kind, "message": message, "where": "/mcp", "fix": _FIX}}
    return Response(json.dumps(body), status_code=status, media_type="application/json")
