"""`OAuthProvider`: the example authorization server as one object a plugin can use.

provider = OAuthProvider(ProviderConfig(database=Path("oauth.db")))
provider.add_client("powerstrip", secret, ["https://host/aip/ID/oauth/callback"])
provider.add_user("alice", password)
plugin.include_router(provider.router, prefix="/oauth")
OAuth(validate=provider.validate_access_token, ...)
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter

from powerstrip.examples.database import open_database
from powerstrip.examples.oauth_provider.config import ProviderConfig
from powerstrip.examples.oauth_provider.models import User
from powerstrip.examples.oauth_provider.routes import build_router
from powerstrip.examples.oauth_provider.server import ProviderServer
from powerstrip.examples.oauth_provider.storage import METADATA, ProviderStore

__all__ = ["OAuthProvider"]


class OAuthProvider:
    """Clients, users, codes and tokens in one SQLite file, and the endpoints that use them."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self.store = ProviderStore(
            open_database(config.database, METADATA),
            refresh_token_seconds=config.refresh_token_seconds,
        )
        self.server = ProviderServer(self.store, config)
        self.router: APIRouter = build_router(self)

    def add_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: Iterable[str],
        *,
        name: str = "Powerstrip",
        scope: str | None = None,
    ) -> None:
        """Register (or update) an app allowed to ask users for access; the secret is hashed.

        `redirect_uris` must match exactly what the app sends: for Powerstrip that is
        `PUBLIC_URL/aip/PLUGIN_ID/oauth/callback`.
        """
        uris = [uri for uri in redirect_uris if uri]
        if not client_id or not client_secret or not uris:
            raise ValueError("a client needs a client_id, a client_secret and a redirect URI")
        self.store.put_client(
            client_id,
            client_secret,
            uris,
            name=name,
            scope=scope or " ".join(self.config.scopes),
        )

    def add_user(self, username: str, password: str) -> User:
        """Create (or reset the password of) a user who can sign in; the password is hashed."""
        if not username or not password:
            raise ValueError("a user needs a username and a password")
        return self.store.put_user(username, password)

    def validate_access_token(self, token: str) -> str | None:
        """The user id of a valid, unexpired, unrevoked access token; None otherwise."""
        return self.store.user_for_access_token(token)
