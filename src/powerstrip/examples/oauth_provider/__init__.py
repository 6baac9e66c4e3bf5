"""An OAuth 2 authorization server for the example plugins, built on Authlib.

It offers the authorization-code grant (with PKCE) and rotating refresh tokens, stores its
clients, users, codes and tokens in SQLite, and serves `/authorize` and `/token` as a FastAPI
router a plugin mounts with `plugin.include_router(provider.router, prefix="/oauth")`.
"""

from powerstrip.examples.oauth_provider.config import ProviderConfig
from powerstrip.examples.oauth_provider.models import User
from powerstrip.examples.oauth_provider.passwords import hash_password, verify_password
from powerstrip.examples.oauth_provider.provider import OAuthProvider

__all__ = ["OAuthProvider", "ProviderConfig", "User", "hash_password", "verify_password"]
