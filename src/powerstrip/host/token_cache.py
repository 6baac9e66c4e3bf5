"""Who the API tokens seen lately belong to, kept for a second: a query a token a second.

Every API request names its token, and finding its owner is a query (with SQLAlchemy's and
aiosqlite's machinery around it: ~0.4 ms of CPU), the largest part of a small request after
the server's own. `TokenOwners` keeps each answer for `seconds` in this process, by the token's
digest (never the token). A revocation or an account deletion made through this process empties
it at once; one made by another worker, or by the CLI, takes effect here when the entry ends,
within `seconds` (`POWERSTRIP_TOKEN_CACHE_SECONDS`; 0 asks the store every time). Unknown
tokens are never kept, so a token issued anywhere works everywhere at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # users.py builds a TokenOwners: no import back at run time
    from powerstrip.host.users import UserInfo

__all__ = ["TokenOwners"]

_MAX_ENTRIES = 4096  # tokens, not users: enough for every token in use at once on a worker


class TokenOwners:
    """A short-lived map of token digest to owner; not shared between processes."""

    def __init__(
        self,
        seconds: float,
        *,
        max_entries: int = _MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seconds = seconds
        self._max_entries = max_entries
        self._clock = clock
        self._owners: dict[str, tuple[float, UserInfo]] = {}
        self._generation = 0

    @property
    def generation(self) -> int:
        """Changes at every `clear()`: read it before asking the store, hand it to `put`."""
        return self._generation

    def get(self, digest: str) -> UserInfo | None:
        """The owner kept for this digest, while it is fresh."""
        entry = self._owners.get(digest)
        if entry is None:
            return None
        if self._clock() >= entry[0]:
            del self._owners[digest]
            return None
        return entry[1]

    def put(self, digest: str, owner: UserInfo, generation: int) -> None:
        """Keep `owner`, unless a `clear()` came since the store was asked (at `generation`):
        the answer may then be of a token revoked meanwhile."""
        if self._seconds <= 0 or generation != self._generation:
            return
        if len(self._owners) >= self._max_entries:
            del self._owners[next(iter(self._owners))]  # the oldest entry
        self._owners[digest] = (self._clock() + self._seconds, owner)

    def clear(self) -> None:
        """Forget every owner: a token or an account went."""
        self._owners.clear()
        self._generation += 1
