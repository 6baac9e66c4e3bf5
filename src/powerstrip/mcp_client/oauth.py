"""MCP's authorization, the client's side: find an MCP server's authorization server, register.

The MCP authorization specification (2025-06-18 on): a server that wants OAuth answers 401 with
`WWW-Authenticate: Bearer resource_metadata="..."`; its protected resource metadata (RFC 9728)
names the authorization server, whose metadata (RFC 8414, or OpenID discovery) names the
endpoints; a client without a client id registers one (RFC 7591, dynamic client registration);
every authorization and token request carries `resource` (RFC 8707), the server's canonical URL,
and PKCE with S256, which the authorization server must say it supports. The SDK's helpers
(`mcp.client.auth.utils`) build the discovery URLs and read the documents; every request goes
through the guarded client, on behalf of the MCP server's URL. The sign-in itself (state, the
user's browser, sealed tokens) is the registry's OAuth flow.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import httpx2
from mcp.client.auth.utils import (
    build_oauth_authorization_server_metadata_discovery_urls,
    build_protected_resource_metadata_discovery_urls,
    extract_field_from_www_auth,
)
from mcp.shared.auth import OAuthClientMetadata, OAuthMetadata, ProtectedResourceMetadata
from mcp.shared.auth_utils import check_resource_allowed, resource_url_from_server_url
from pydantic import AnyUrl, ValidationError

from powerstrip.errors import NetError, OAuthError
from powerstrip.net import GuardedClient

__all__ = ["McpAuthorization", "discover_authorization", "register_client"]

logger = logging.getLogger(__name__)

_MAX_DOCUMENT = 64 * 1024
_FIX = "check the server's OAuth set-up, or add it with a key (--user-key or --service-key)"


@dataclass(frozen=True, slots=True)
class McpAuthorization:
    """What a client needs to sign a user in to one MCP server."""

    resource: str
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    registration_endpoint: str | None
    scope: str

    def to_json(self) -> dict[str, str | None]:
        return {
            "resource": self.resource,
            "issuer": self.issuer,
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "registration_endpoint": self.registration_endpoint,
            "scope": self.scope,
        }

    @classmethod
    def from_json(cls, value: object) -> McpAuthorization | None:
        if not isinstance(value, dict):
            return None
        try:
            registration = value.get("registration_endpoint")
            return cls(
                resource=str(value["resource"]),
                issuer=str(value["issuer"]),
                authorization_endpoint=str(value["authorization_endpoint"]),
                token_endpoint=str(value["token_endpoint"]),
                registration_endpoint=str(registration) if registration else None,
                scope=str(value.get("scope") or ""),
            )
        except KeyError:
            return None


async def _document(client: GuardedClient, url: str, origin: str) -> bytes | None:
    """The body of a 200 at `url`, or None (not found there, unreachable: try the next one)."""
    try:
        response = await client.fetch(
            url, headers={"accept": "application/json"}, max_bytes=_MAX_DOCUMENT, origin=origin
        )
    except NetError as exc:
        logger.info("mcp_oauth.discovery_miss url=%s error=%s", url, exc.message)
        return None
    return response.content if response.status_code == 200 else None


async def discover_authorization(
    client: GuardedClient, server_url: str, challenge: str
) -> McpAuthorization:
    """The authorization server of the MCP server at `server_url`, from its 401's `challenge`.

    OAuthError when the server publishes no usable metadata, names a resource other than
    itself, or its authorization server lacks PKCE with S256 (the MCP specification's MUSTs).
    """
    challenge_response = httpx2.Response(401, headers={"www-authenticate": challenge})
    named = extract_field_from_www_auth(challenge_response, "resource_metadata")
    challenged_scope = extract_field_from_www_auth(challenge_response, "scope")
    resource_metadata: ProtectedResourceMetadata | None = None
    for url in build_protected_resource_metadata_discovery_urls(named, server_url):
        body = await _document(client, url, server_url)
        if body is None:
            continue
        try:
            resource_metadata = ProtectedResourceMetadata.model_validate_json(body)
            break
        except ValidationError:
            continue
    if resource_metadata is None:
        raise OAuthError(
            "the MCP server wants a credential but publishes no protected resource metadata "
            "(RFC 9728), so its OAuth sign-in cannot be found",
            where=server_url,
            fix=_FIX,
        )
    resource = str(resource_metadata.resource)
    canonical = resource_url_from_server_url(server_url)
    if not check_resource_allowed(canonical, resource):
        # A server must not send its users' tokens' audience elsewhere (RFC 9728 §3.3).
        raise OAuthError(
            f"the MCP server's metadata names another resource ({resource})",
            where=server_url,
            fix=_FIX,
        )
    issuer = str(resource_metadata.authorization_servers[0])
    metadata = await _server_metadata(client, issuer, server_url)
    methods = metadata.code_challenge_methods_supported or []
    if "S256" not in methods:
        raise OAuthError(
            "the MCP server's authorization server does not say it supports PKCE with S256, "
            "which MCP requires",
            where=issuer,
            fix=_FIX,
        )
    if "code" not in metadata.response_types_supported:
        raise OAuthError(
            "the authorization server offers no authorization-code flow", where=issuer, fix=_FIX
        )
    scopes = challenged_scope or " ".join(resource_metadata.scopes_supported or [])
    return McpAuthorization(
        resource=resource,
        issuer=str(metadata.issuer),
        authorization_endpoint=str(metadata.authorization_endpoint),
        token_endpoint=str(metadata.token_endpoint),
        registration_endpoint=(
            str(metadata.registration_endpoint) if metadata.registration_endpoint else None
        ),
        scope=scopes,
    )


async def _server_metadata(client: GuardedClient, issuer: str, server_url: str) -> OAuthMetadata:
    for url in build_oauth_authorization_server_metadata_discovery_urls(issuer, server_url):
        body = await _document(client, url, server_url)
        if body is None:
            continue
        try:
            metadata = OAuthMetadata.model_validate_json(body)
        except ValidationError:
            continue
        if str(metadata.issuer).rstrip("/") != issuer.rstrip("/"):
            # RFC 8414 §3.3: metadata for another issuer is not this server's.
            continue
        return metadata
    raise OAuthError(
        "the MCP server's authorization server publishes no metadata (RFC 8414)",
        where=issuer,
        fix=_FIX,
    )


async def register_client(
    client: GuardedClient,
    authorization: McpAuthorization,
    *,
    redirect_uri: str,
    client_name: str,
    origin: str,
) -> tuple[str, str | None]:
    """Register Powerstrip with the authorization server (RFC 7591): (client_id, secret)."""
    if authorization.registration_endpoint is None:
        raise OAuthError(
            "the MCP server's authorization server offers no dynamic client registration, and "
            "Powerstrip has no client id there",
            where=authorization.issuer,
            fix=_FIX,
        )
    metadata = OAuthClientMetadata(
        redirect_uris=[AnyUrl(redirect_uri)],
        token_endpoint_auth_method="none",  # noqa: S106 - a public client: PKCE, no secret
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        scope=authorization.scope or None,
        client_name=client_name,
        application_type="web",
    )
    body = metadata.model_dump(by_alias=True, mode="json", exclude_none=True)
    try:
        response = await client.request(
            "POST",
            authorization.registration_endpoint,
            headers={"content-type": "application/json", "accept": "application/json"},
            content=json.dumps(body).encode(),
            max_bytes=_MAX_DOCUMENT,
            origin=origin,
        )
    except NetError as exc:
        raise OAuthError(
            f"the client registration could not be made: {exc.message}",
            where=authorization.registration_endpoint,
            fix=_FIX,
        ) from None
    try:
        answer = json.loads(response.content)
    except ValueError:
        answer = None
    client_id = answer.get("client_id") if isinstance(answer, dict) else None
    if response.status_code not in (200, 201) or not isinstance(client_id, str) or not client_id:
        raise OAuthError(
            f"the authorization server refused the client registration (HTTP "
            f"{response.status_code})",
            where=authorization.registration_endpoint,
            fix=_FIX,
        )
    secret = answer.get("client_secret")
    return client_id, secret if isinstance(secret, str) and secret else None
