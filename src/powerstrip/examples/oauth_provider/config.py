"""How the example OAuth provider is set up: where it stores its data, which scopes, lifetimes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProviderConfig"]


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """The provider's settings; `database` is the SQLite file for clients, users and tokens."""

    database: Path
    scopes: tuple[str, ...] = ("todos",)
    access_token_seconds: int = 3600
    refresh_token_seconds: int = 30 * 24 * 3600
    # RFC 6749 §4.1.2 recommends at most ten minutes for an authorization code.
    code_seconds: int = 600
    site_name: str = "Todo accounts"

    def __post_init__(self) -> None:
        if not self.scopes:
            raise ValueError("ProviderConfig.scopes needs at least one scope")
        lifetimes = (self.access_token_seconds, self.refresh_token_seconds, self.code_seconds)
        if min(lifetimes) <= 0:
            raise ValueError("ProviderConfig lifetimes must be positive numbers of seconds")
