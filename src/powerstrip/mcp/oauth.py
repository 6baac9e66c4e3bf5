"""MCP authorization for `/mcp`: the host as its OAuth 2.1 authorization server, on the SDK.

The protocol is the `mcp` SDK's (`mcp.server.auth`): its handlers parse and check the requests
(PKCE S256 at the token endpoint, redirect URIs matched exactly, error answers in OAuth's
shapes); `HostProvider` is the SDK's provider protocol over the host's `mcp_oauth` service,
which holds the state and the rules. The routes:

    /.well-known/oauth-protected-resource[/mcp]   RFC 9728: /mcp, and who issues its tokens
    /.well-known/oauth-authorization-server       RFC 8414: the endpoints below
    /oauth/register                                RFC 7591: public clients only
    /oauth/authorize                               to the consent page (`powerstrip.web`)
    /oauth/token                                   authorization_code + PKCE, refresh_token
    /oauth/revoke                                  RFC 7009

The host is made in the server's lifespan, so each route finds it (and this module's
`McpAuthServer`) in the app's state at request time.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from mcp.server.auth.handlers.authorize import AuthorizationHandler
from mcp.server.auth.handlers.metadata import MetadataHandler, ProtectedResourceMetadataHandler
from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.handlers.revoke import RevocationHandler
from mcp.server.auth.handlers.token import TokenHandler
from mcp.server.auth.middleware.client_auth import ClientAuthenticator
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    IdentityAssertionParams,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.server.auth.routes import cors_middleware
from mcp.server.auth.settings import ClientRegistrationOptions
from mcp.shared.auth import (
    OAuthClientInformationFull,
    OAuthMetadata,
    OAuthToken,
    ProtectedResourceMetadata,
)
from pydantic import AnyUrl
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from powerstrip.errors import InvalidInputError, OAuthError
from powerstrip.host import MCP_SCOPE, ConsentRequest, Host, TokenGrant

__all__ = [
    "CONSENT_PATH",
    "HostProvider",
    "McpAuthServer",
    "mcp_auth_routes",
    "resource_metadata_url",
]

logger = logging.getLogger(__name__)

CONSENT_PATH = "/oauth/consent"
_RESOURCE_METADATA = "/.well-known/oauth-protected-resource"


def resource_metadata_url(host: Host) -> str:
    """Where `/mcp`'s protected resource metadata is (RFC 9728 §3.1: the path appended)."""
    return f"{host.mcp_oauth.issuer}{_RESOURCE_METADATA}/mcp"


def _client_id(client: OAuthClientInformationFull) -> str:
    if client.client_id is None:  # every client this provider hands out has one
        raise TokenError("invalid_client", "the client has no client_id")
    return client.client_id


class HostProvider:
    """The SDK's `OAuthAuthorizationServerProvider`, answered by `host.mcp_oauth`."""

    def __init__(self, host: Host) -> None:
        self.oauth = host.mcp_oauth

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        found = await self.oauth.client(client_id)
        return (
            None if found is None else OAuthClientInformationFull.model_validate(found.registration)
        )

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        try:
            await self.oauth.register(
                _client_id(client_info),
                name=client_info.client_name or "",
                redirect_uris=[str(uri) for uri in client_info.redirect_uris or ()],
                registration=client_info.model_dump(mode="json", exclude_none=True),
            )
        except InvalidInputError as exc:
            raise RegistrationError("invalid_redirect_uri", exc.message) from None

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        try:
            resource = self.oauth.check_resource(params.resource)
        except OAuthError as exc:
            raise AuthorizeError("invalid_target", exc.message) from None
        scopes = tuple(params.scopes or (MCP_SCOPE,))
        if set(scopes) != {MCP_SCOPE}:
            raise AuthorizeError("invalid_scope", f"the only scope is {MCP_SCOPE!r}")
        try:
            ticket = self.oauth.consent_ticket(
                ConsentRequest(
                    client_id=_client_id(client),
                    redirect_uri=str(params.redirect_uri),
                    redirect_uri_explicit=params.redirect_uri_provided_explicitly,
                    code_challenge=params.code_challenge,
                    state=params.state,
                    scopes=scopes,
                    resource=resource,
                )
            )
        except InvalidInputError as exc:
            raise AuthorizeError("invalid_request", exc.message) from None
        return f"{self.oauth.issuer}{CONSENT_PATH}?request={ticket}"

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        grant = await self.oauth.load_code(_client_id(client), authorization_code)
        if grant is None:
            return None
        return AuthorizationCode(
            code=authorization_code,
            scopes=list(grant.scopes),
            expires_at=grant.expires_at.timestamp(),
            client_id=grant.client_id,
            code_challenge=grant.code_challenge,
            redirect_uri=AnyUrl(grant.redirect_uri),
            redirect_uri_provided_explicitly=grant.redirect_uri_explicit,
            resource=grant.resource,
            subject=str(grant.user_id),
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        try:
            issued = await self.oauth.exchange_code(_client_id(client), authorization_code.code)
        except OAuthError as exc:
            raise TokenError("invalid_grant", exc.message) from None
        return _token_answer(
            issued.access_token, issued.refresh_token, issued.expires_in, issued.scopes
        )

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        grant = await self.oauth.load_refresh(_client_id(client), refresh_token)
        return None if grant is None else RefreshToken(token=refresh_token, **_grant_fields(grant))

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        try:
            issued = await self.oauth.refresh(
                _client_id(client), refresh_token.token, tuple(scopes)
            )
        except OAuthError as exc:
            raise TokenError("invalid_grant", exc.message) from None
        return _token_answer(
            issued.access_token, issued.refresh_token, issued.expires_in, issued.scopes
        )

    async def load_access_token(self, token: str) -> AccessToken | None:
        grant = await self.oauth.load_access(token)
        return None if grant is None else AccessToken(token=token, **_grant_fields(grant))

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        await self.oauth.revoke(token.client_id, token.token)

    async def exchange_identity_assertion(
        self, client: OAuthClientInformationFull, params: IdentityAssertionParams
    ) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "the JWT bearer grant is not offered here")


def _grant_fields(grant: TokenGrant) -> dict[str, Any]:  # Any: the SDK models' field values
    return {
        "client_id": grant.client_id,
        "scopes": list(grant.scopes),
        "expires_at": int(grant.expires_at.timestamp()),
        "resource": grant.resource,
        "subject": str(grant.user_id),
    }


def _token_answer(
    access: str, refresh: str, expires_in: int, scopes: tuple[str, ...]
) -> OAuthToken:
    return OAuthToken(
        access_token=access,
        token_type="Bearer",  # noqa: S106 - the token type, not a secret
        expires_in=expires_in,
        refresh_token=refresh,
        scope=" ".join(scopes),
    )


class McpAuthServer:
    """The SDK's handlers over one host, one ASGI app per endpoint."""

    def __init__(self, host: Host) -> None:
        self.host = host
        oauth = host.mcp_oauth
        provider = HostProvider(host)
        clients = ClientAuthenticator(provider)
        issuer = oauth.issuer
        # Plain strings, validated by the models: they keep an issuer without a path as it is
        # (no trailing slash), which clients compare as a string (RFC 8414 §3.3, RFC 9207).
        self.metadata = OAuthMetadata.model_validate(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/oauth/authorize",
                "token_endpoint": f"{issuer}/oauth/token",
                "registration_endpoint": f"{issuer}/oauth/register",
                "revocation_endpoint": f"{issuer}/oauth/revoke",
                "scopes_supported": [MCP_SCOPE],
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                # Public clients only: a desktop app or an agent cannot keep a secret; PKCE and
                # the exact redirect URI bind the code instead.
                "token_endpoint_auth_methods_supported": ["none"],
                "revocation_endpoint_auth_methods_supported": ["none"],
                "code_challenge_methods_supported": ["S256"],
                "authorization_response_iss_parameter_supported": True,
            }
        )
        self.resource = ProtectedResourceMetadata.model_validate(
            {
                "resource": oauth.resource,
                "authorization_servers": [issuer],
                "scopes_supported": [MCP_SCOPE],
                "resource_name": "Powerstrip: your installed plugins over MCP",
            }
        )
        self.authorize: ASGIApp = _endpoint(AuthorizationHandler(provider).handle)
        self.token: ASGIApp = cors_middleware(
            TokenHandler(provider, clients).handle, ["POST", "OPTIONS"]
        )
        self._revoke = RevocationHandler(provider, clients)
        self.revoke: ASGIApp = cors_middleware(self._revocation, ["POST", "OPTIONS"])
        self._register = RegistrationHandler(
            provider,
            options=ClientRegistrationOptions(
                enabled=True, valid_scopes=[MCP_SCOPE], default_scopes=[MCP_SCOPE]
            ),
        )
        self.register: ASGIApp = cors_middleware(self._registration, ["POST", "OPTIONS"])
        self.server_metadata: ASGIApp = cors_middleware(
            MetadataHandler(self.metadata).handle, ["GET", "OPTIONS"]
        )
        self.resource_metadata: ASGIApp = cors_middleware(
            ProtectedResourceMetadataHandler(self.resource).handle, ["GET", "OPTIONS"]
        )

    async def _registration(self, request: Request) -> Response:
        if not await self.host.mcp_oauth.registration_open():
            return JSONResponse(
                {
                    "error": "temporarily_unavailable",
                    "error_description": "too many MCP clients are registered and not used yet",
                },
                status_code=503,
                headers={"Retry-After": "3600"},
            )
        body = _as_public_client(await request.body())
        return await self._register.handle(Request(request.scope, _replay(body)))

    async def _revocation(self, request: Request) -> Response:
        body = await request.body()
        if b"client_secret=" not in body:
            # A public client has no secret to send, but the SDK's request model requires the
            # field (`str | None` without a default): an empty one stands for none.
            body += b"&client_secret=" if body else b"client_secret="
        return await self._revoke.handle(Request(request.scope, _replay(body)))


def _as_public_client(body: bytes) -> bytes:
    """The registration asked for, as a public client with the `mcp` scope (RFC 7591 §3.2.1
    lets the server replace what it will not grant; the answer says what was registered)."""
    try:
        asked = json.loads(body)
    except ValueError:
        return body  # the SDK's handler answers invalid_client_metadata
    if not isinstance(asked, dict):
        return body
    asked["token_endpoint_auth_method"] = "none"  # noqa: S105 - a method name, not a secret
    scope = asked.get("scope")
    if isinstance(scope, str):
        kept = [word for word in scope.split() if word == MCP_SCOPE]
        if kept:
            asked["scope"] = MCP_SCOPE
        else:
            asked.pop("scope")
    return json.dumps(asked).encode()


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _endpoint(handler: Any) -> ASGIApp:  # Any: an SDK handler's bound `handle`
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response: Response = await handler(Request(scope, receive))
        await response(scope, receive, send)

    return app


class _Dispatch:
    """One endpoint of the `McpAuthServer` the lifespan put in the app's state."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server: McpAuthServer = scope["app"].state.mcp_auth
        endpoint: ASGIApp = getattr(server, self.name)
        await endpoint(scope, receive, send)


def mcp_auth_routes() -> list[Route]:
    """The routes of MCP authorization (the consent page is the web app's)."""
    read = ["GET", "OPTIONS"]
    post = ["POST", "OPTIONS"]
    return [
        Route(f"{_RESOURCE_METADATA}/mcp", _Dispatch("resource_metadata"), methods=read),
        Route(_RESOURCE_METADATA, _Dispatch("resource_metadata"), methods=read),
        Route(
            "/.well-known/oauth-authorization-server", _Dispatch("server_metadata"), methods=read
        ),
        Route("/oauth/authorize", _Dispatch("authorize"), methods=["GET", "POST"]),
        Route("/oauth/token", _Dispatch("token"), methods=post),
        Route("/oauth/register", _Dispatch("register"), methods=post),
        Route("/oauth/revoke", _Dispatch("revoke"), methods=post),
    ]
