"""Secrets and credentials (spec §4): the vault that seals them at rest, the four schemes as
request headers, and the host's side of the OAuth authorization-code flow.

Nothing in this package stores a plaintext secret.
"""

from powerstrip.auth.key_format import check_key
from powerstrip.auth.oauth_client import (
    TokenSet,
    authorization_url,
    exchange_code,
    new_pkce,
    new_state,
    refresh_tokens,
    state_hash,
)
from powerstrip.auth.schemes import authorization_header
from powerstrip.auth.vault import Secret, Vault, generate_key

__all__ = [
    "Secret",
    "TokenSet",
    "Vault",
    "authorization_header",
    "authorization_url",
    "check_key",
    "exchange_code",
    "generate_key",
    "new_pkce",
    "new_state",
    "refresh_tokens",
    "state_hash",
]
