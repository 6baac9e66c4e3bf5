"""What the provider's tables hold, in the shapes Authlib's grants expect.

Authlib asks for objects with certain methods (its `ClientMixin`, `AuthorizationCodeMixin` and
`TokenMixin` only document them and raise NotImplementedError): these frozen dataclasses
provide the methods without inheriting from Authlib's untyped classes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from powerstrip.examples.oauth_provider.passwords import verify_password

__all__ = ["AuthorizationCode", "Client", "Token", "User"]

# The host authenticates with client_id and client_secret in the body (spec §4); Basic too.
_CLIENT_AUTH_METHODS = frozenset({"client_secret_post", "client_secret_basic"})
_GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})


@dataclass(frozen=True, slots=True)
class User:
    """A person who can sign in; `id` is what a plugin sees as `ctx.user_id`."""

    id: str
    username: str


@dataclass(frozen=True, slots=True)
class Client:
    """A registered app (the Powerstrip host) allowed to ask users for access."""

    client_id: str
    name: str
    secret_hash: str = field(repr=False)
    redirect_uris: tuple[str, ...]
    scope: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The requested scopes this client may have; its whole scope when none was asked."""
        allowed = self.scope.split()
        if not scope:
            return " ".join(allowed)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact match only (RFC 6749 §3.1.2.2): prefixes let an attacker pick a landing page.
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_password(client_secret, self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint != "token" or method in _CLIENT_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in _GRANT_TYPES


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    """A code issued to a client for a user; `id` ties the tokens it yields to it."""

    id: int
    client_id: str
    user_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True, slots=True)
class Token:
    """An issued access token (and its refresh token), without the token strings themselves."""

    id: int
    client_id: str
    user_id: str
    scope: str
    grant_id: int
    issued_at: float
    expires_in: int
    revoked: bool

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.revoked
