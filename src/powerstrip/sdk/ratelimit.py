"""Per-key rate limits: a token bucket per caller, answering 429 with `Retry-After`."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

__all__ = ["RateLimit", "RateLimiter"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `requests` calls per `per_seconds` for one caller, with bursts up to `requests`."""

    requests: int
    per_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per_seconds <= 0:
            raise ValueError("RateLimit needs requests >= 1 and per_seconds > 0")


class RateLimiter:
    """In-process token buckets keyed by caller (a credential hash or an address)."""

    def __init__(self, limit: RateLimit, *, max_keys: int = 100_000) -> None:
        self.limit = limit
        self._rate = limit.requests / limit.per_seconds
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def acquire(self, key: str, now: float | None = None) -> float:
        """Take one token for `key`; return 0 when allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.limit.requests), now))
            tokens = min(float(self.limit.requests), tokens + (now - last) * self._rate)
            if tokens >= 1.0:
                self._store(key, tokens - 1.0, now)
                return 0.0
            self._store(key, tokens, now)
            return (1.0 - tokens) / self._rate

    def _store(self, key: str, tokens: float, now: float) -> None:
        if len(self._buckets) >= self._max_keys and key not in self._buckets:
            # Bound memory under a flood of distinct keys: forget the stalest half.
            for stale in sorted(self._buckets, key=lambda k: self._buckets[k][1])[
                : self._max_keys // 2
            ]:
                del self._buckets[stale]
        self._buckets[key] = (tokens, now)

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
