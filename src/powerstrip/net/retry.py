"""Retry rules for API calls: which failures to retry and how long to wait between attempts."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["RetryPolicy", "parse_retry_after"]

_DEFAULT_STATUSES = frozenset({429, 500, 502, 503, 504})
# RFC 9110 §9.2.2 idempotent methods, less DELETE: a plugin's DELETE often means "delete the
# newest", so repeating it is not known to be harmless.
_REPEATABLE = frozenset({"GET", "HEAD", "OPTIONS", "PUT"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How `GuardedClient.request` retries: failed connections and `retry_statuses`, with backoff.

    A connection that could not be made is retried for every method (nothing was sent); one
    that broke after the request went out only for `repeatable_methods`.

    The wait before attempt n+1 is a random fraction ("full jitter") of
    `min(backoff_max, backoff_base * 2**(n-1))`, unless the server sent `Retry-After`, which wins.
    """

    max_attempts: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    retry_statuses: frozenset[int] = field(default=_DEFAULT_STATUSES)
    repeatable_methods: frozenset[str] = field(default=_REPEATABLE)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** max(attempt - 1, 0)))
        # Jitter spreads the retries of many clients; it is not a security feature.
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (`Retry-After`: seconds or HTTP-date), or None."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
