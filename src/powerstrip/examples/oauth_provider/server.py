"""Authlib's authorization server, wired to Starlette and to the provider's SQLite store.

Authlib has no Starlette server integration; this is the thin adapter its docs ask framework
integrations to write (`create_oauth2_request`, `handle_response`, `send_signal`, ...), plus
the two grants this provider offers: the authorization code (with PKCE when the client sends
a challenge) and rotating refresh tokens.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from typing import Any

from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]  # Authlib ships no types
    AuthorizationServer,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import (  # type: ignore[import-untyped]
    AuthorizationCodeGrant,
    RefreshTokenGrant,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import CodeChallenge  # type: ignore[import-untyped]
from starlette.responses import RedirectResponse, Response

from powerstrip.examples.oauth_provider.config import ProviderConfig
from powerstrip.examples.oauth_provider.models import AuthorizationCode, Client, Token, User
from powerstrip.examples.oauth_provider.requests import (
    IncomingRequest,
    SnapshotJsonRequest,
    SnapshotOAuth2Request,
)
from powerstrip.examples.oauth_provider.storage import ProviderStore

__all__ = ["ProviderServer"]

logger = logging.getLogger(__name__)


class _DropIssuedTokens(logging.Filter):
    """Authlib's grants log each issued token dict (access and refresh token) at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Issue token")


# Attached to the two grant modules' loggers this provider uses, so that turning on DEBUG
# logging cannot write a usable token to a log.
for _name in ("authorization_code", "refresh_token"):
    _grant_logger = logging.getLogger(f"authlib.oauth2.rfc6749.grants.{_name}")
    if not any(isinstance(f, _DropIssuedTokens) for f in _grant_logger.filters):
        _grant_logger.addFilter(_DropIssuedTokens())

# Client authentication at the token endpoint: the body (spec §4) or HTTP Basic.
_CLIENT_AUTH = ["client_secret_basic", "client_secret_post"]


class _CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]  # untyped base class
    TOKEN_ENDPOINT_AUTH_METHODS = _CLIENT_AUTH

    @property
    def _server(self) -> ProviderServer:
        server: ProviderServer = self.server
        return server

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        fields = {
            "client_id": request.client.get_client_id(),
            "user_id": request.user.id,
            "redirect_uri": request.payload.redirect_uri
            or request.client.get_default_redirect_uri(),
            "scope": request.scope or "",
            "code_challenge": data.get("code_challenge"),
            "code_challenge_method": data.get("code_challenge_method"),
        }
        self._server.store.save_code(code, fields, self._server.config.code_seconds)

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        # Consumed here, not in delete_authorization_code: checking and marking the code used in
        # one transaction is what keeps a code single-use under concurrent exchanges.
        return self._server.store.consume_code(code, client.client_id)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing left to do: `query_authorization_code` already marked the code used."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User | None:
        return self._server.store.user(authorization_code.user_id)


class _RefreshGrant(RefreshTokenGrant):  # type: ignore[misc]  # untyped base class
    TOKEN_ENDPOINT_AUTH_METHODS = _CLIENT_AUTH
    # Rotation: every refresh hands out a new refresh token and revokes the old one.
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        # Authlib has authenticated the client just before this call.
        store: ProviderStore = self.server.store
        return store.consume_refresh_token(refresh_token, self.request.client.client_id)

    def authenticate_user(self, refresh_token: Token) -> User | None:
        store: ProviderStore = self.server.store
        return store.user(refresh_token.user_id)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        """Nothing left to do: `authenticate_refresh_token` revoked it atomically."""


def _random_token(**_context: Any) -> str:  # Any: Authlib passes client, grant_type, user...
    return secrets.token_urlsafe(32)


class ProviderServer(AuthorizationServer):  # type: ignore[misc]  # untyped base class
    """Authlib's AuthorizationServer for Starlette requests and the provider's store."""

    def __init__(self, store: ProviderStore, config: ProviderConfig) -> None:
        super().__init__(scopes_supported=list(config.scopes))
        self.store = store
        self.config = config
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                _random_token, _random_token, expires_generator=config.access_token_seconds
            ),
        )
        # required=False: PKCE is checked whenever a challenge was sent, and demanded only of
        # public clients; the host always sends S256, older confidential clients may not.
        self.register_grant(_CodeGrant, [CodeChallenge(required=False)])
        self.register_grant(_RefreshGrant)

    def query_client(self, client_id: str) -> Client | None:
        return self.store.client(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        # A refreshed token stays in its grant's family, so reusing the code revokes it too.
        if request.authorization_code is not None:
            grant_id = request.authorization_code.id
        else:
            grant_id = request.refresh_token.grant_id
        self.store.save_token(
            token,
            client_id=request.client.get_client_id(),
            user_id=request.user.id,
            grant_id=grant_id,
        )

    def create_oauth2_request(self, request: IncomingRequest) -> SnapshotOAuth2Request:
        if isinstance(request, SnapshotOAuth2Request):
            return request
        return SnapshotOAuth2Request(request)

    def create_json_request(self, request: IncomingRequest) -> SnapshotJsonRequest:
        return SnapshotJsonRequest(request)

    def handle_response(
        self, status: int, body: Any, headers: Sequence[tuple[str, str]]
    ) -> Response:  # Any: a JSON object or an empty string, as Authlib makes them
        header_map = dict(headers)
        if status in (301, 302, 303, 307) and "Location" in header_map:
            return RedirectResponse(header_map["Location"], status_code=status)
        if status == 401:
            # RFC 6749 §5.2: a 401 names the authentication scheme the client may use.
            header_map.setdefault("WWW-Authenticate", 'Basic realm="oauth"')
        content = json.dumps(body) if isinstance(body, dict) else str(body)
        return Response(content, status_code=status, headers=header_map)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:  # Any: Authlib's
        # No signal system here; the name alone is safe to log (the arguments hold secrets).
        logger.debug("oauth.signal name=%s", name)
