"""Slow down password guessing: too many failed sign-ins from one address → wait."""

from __future__ import annotations

import math
import time
from collections import deque

__all__ = ["SignInThrottle"]


class SignInThrottle:
    """At most `failures` failed sign-ins per address within `window` seconds.

    Checked before the password is, so a throttled guess is not tried at all; a correct
    password resets nothing (it only stops adding failures).
    """

    def __init__(self, failures: int = 10, window: float = 60.0, max_addresses: int = 10_000):
        self.failures = failures
        self.window = window
        self._max = max_addresses
        self._seen: dict[str, deque[float]] = {}

    def wait(self, address: str, now: float | None = None) -> float:
        """Seconds this address must wait before trying again (0 when it may try now)."""
        now = time.monotonic() if now is None else now
        recent = self._recent(address, now)
        if len(recent) < self.failures:
            return 0.0
        return max(0.0, recent[0] + self.window - now)

    def failed(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if len(self._seen) >= self._max and address not in self._seen:
            self._seen.clear()  # bounded memory under a flood of addresses
        self._recent(address, now).append(now)

    def _recent(self, address: str, now: float) -> deque[float]:
        recent = self._seen.setdefault(address, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        return recent

    @staticmethod
    def retry_after(seconds: float) -> str:
        return str(max(1, math.ceil(seconds)))
