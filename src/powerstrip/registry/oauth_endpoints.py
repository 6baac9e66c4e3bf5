"""Where a plugin's users sign in and their tokens are renewed, whichever kind of plugin it is.

An OpenAPI plugin's manifest names them (`client_url`, `authorization_url`, spec §4, relative
to the manifest). An MCP server's come from its authorization server's metadata, found when it
was added; its tokens are for one resource (RFC 8707), named in every request, and the client
Powerstrip registered there is public (PKCE, no secret).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

from powerstrip.errors import RegistryError
from powerstrip.plugin import OAuthAuth
from powerstrip.registry.catalog import stored_manifest
from powerstrip.registry.mcp_servers import MCP_KEY, mcp_authorization
from powerstrip.store import Plugin

__all__ = ["OAuthEndpoints", "oauth_endpoints"]


@dataclass(frozen=True, slots=True)
class OAuthEndpoints:
    client_url: str
    token_url: str
    scope: str
    content_type: str
    # The MCP server the tokens are for (RFC 8707); None for an OpenAPI plugin.
    resource: str | None
    # Whether the client has no secret (a public client proving itself with PKCE).
    public_client: bool


def oauth_endpoints(plugin: Plugin) -> OAuthEndpoints:
    """The sign-in endpoints of an OAuth plugin; RegistryError for a plugin without OAuth."""
    if MCP_KEY in plugin.manifest:
        authorization = mcp_authorization(plugin.manifest)
        if authorization is None:
            raise _not_oauth(plugin)
        return OAuthEndpoints(
            client_url=authorization.authorization_endpoint,
            token_url=authorization.token_endpoint,
            scope=authorization.scope,
            content_type="application/x-www-form-urlencoded",
            resource=authorization.resource,
            public_client=True,
        )
    auth = stored_manifest(plugin).auth
    if not isinstance(auth, OAuthAuth):
        raise _not_oauth(plugin)
    return OAuthEndpoints(
        client_url=urljoin(plugin.manifest_url, auth.client_url),
        token_url=urljoin(plugin.manifest_url, auth.authorization_url),
        scope=auth.scope,
        content_type=auth.authorization_content_type,
        resource=None,
        public_client=False,
    )


def _not_oauth(plugin: Plugin) -> RegistryError:
    return RegistryError(
        f"plugin {plugin.name_for_model!r} does not use OAuth",
        where=f"plugin {plugin.id}",
        fix="install it without signing in",
    )
