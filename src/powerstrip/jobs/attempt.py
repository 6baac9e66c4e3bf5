"""One try of one job, as both runners make it: run the handler, then say what comes next.

The outcome is `done`, `retry` after a delay (a passing failure with tries left) or `failed`
with the reason kept in the job's record. Each is logged with the job's name and id (bound to
every record the handler logs, too); a failure's text never quotes a secret
(`retry.describe_failure`, and the log's redaction).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal

from powerstrip.errors import PowerstripError
from powerstrip.jobs.job import JobHandler, JobPayload
from powerstrip.jobs.retry import RetryPolicy, describe_failure, is_transient
from powerstrip.logs import log_ids

__all__ = ["Outcome", "attempt"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a try ended in, and for a retry how long to wait first."""

    status: Literal["done", "retry", "failed"]
    error: str | None = None
    delay: float = 0.0


async def attempt(
    name: str,
    job_id: str,
    handler: JobHandler,
    payload: JobPayload,
    *,
    tries: int,
    policy: RetryPolicy,
) -> Outcome:
    """Run try number `tries` (from 1) of the job; cancellation passes through untouched."""
    with log_ids(job=job_id):
        logger.info("jobs.start name=%s try=%d", name, tries)
        try:
            async with asyncio.timeout(policy.timeout_seconds):
                await handler(payload)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = describe_failure(exc, policy.timeout_seconds)
            if is_transient(exc) and tries < policy.max_attempts:
                delay = policy.delay(tries)
                logger.warning(
                    "jobs.retry name=%s try=%d of=%d delay=%.1fs error=%s",
                    name,
                    tries,
                    policy.max_attempts,
                    delay,
                    error,
                )
                return Outcome("retry", error, delay)
            if not isinstance(exc, PowerstripError | TimeoutError):
                logger.exception("jobs.crashed name=%s try=%d", name, tries)
            logger.error("jobs.failed name=%s tries=%d error=%s", name, tries, error)
            return Outcome("failed", error)
        logger.info("jobs.done name=%s try=%d", name, tries)
        return Outcome("done")
