"""Which failures a job is retried for, how long it waits, and what its record says.

A passing failure (a connection refused or broken, a timeout, a database away or locked, a
`RetryLaterError`) is tried again after a backoff that doubles from `jobs_retry_seconds` up to
`jobs_retry_max_seconds`, until `jobs_max_attempts`. Anything else fails at once: trying a
malformed input again changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError

from powerstrip.errors import (
    BrokenConnectionError,
    ConnectError,
    FetchTimeoutError,
    HTTPStatusError,
    PowerstripError,
    RetryLaterError,
    StoreError,
)
from powerstrip.settings import Settings

__all__ = ["RetryPolicy", "describe_failure", "is_transient"]

_PASSING_NET = (ConnectError, BrokenConnectionError, FetchTimeoutError, RetryLaterError)


def is_transient(exc: BaseException) -> bool:
    """Whether trying the job again later may succeed where this try failed."""
    if isinstance(exc, _PASSING_NET):
        return True
    if isinstance(exc, HTTPStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    if isinstance(exc, StoreError):
        # The database away or locked (its cause an OperationalError), not a refused write.
        return isinstance(exc.__cause__, OperationalError)
    if isinstance(exc, PowerstripError):
        return False
    # Redis and sockets raise ConnectionError / OSError subclasses; asyncio.timeout TimeoutError.
    return isinstance(exc, OperationalError | ConnectionError | TimeoutError | OSError)


def describe_failure(exc: BaseException, timeout: float) -> str:
    """The failure as a job's record keeps it: our errors' message, else only the kind.

    A third-party exception's text may quote what it was given (a URL with a password, a row's
    values), so only its class name is kept; the worker's log has the traceback, redacted.
    """
    if isinstance(exc, PowerstripError):
        return exc.message[:1000]
    if isinstance(exc, TimeoutError):
        return f"the job ran past its {timeout:g}-second limit"
    return f"the job failed unexpectedly ({type(exc).__name__}); the worker's log has the details"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Tries, backoff and time limit of every job, from the settings."""

    max_attempts: int
    base_seconds: float
    max_seconds: float
    timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            settings.jobs_max_attempts,
            settings.jobs_retry_seconds,
            settings.jobs_retry_max_seconds,
            settings.jobs_timeout_seconds,
        )

    def delay(self, attempt: int) -> float:
        """Seconds before try `attempt + 1`: doubling, capped, with up to 10% jitter added.

        The jitter keeps jobs that failed together (a database restart) from returning together.
        """
        base: float = min(self.max_seconds, self.base_seconds * 2.0 ** max(0, attempt - 1))
        return base * (1 + random.random() / 10)  # noqa: S311 - spreading retries, not a secret
