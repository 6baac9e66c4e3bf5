"""The job backends the tests run on: the jobs table always, arq on Redis when one is given.

`POWERSTRIP_TEST_REDIS_URL` names a Redis the tests may write to (`.ci/redis.sh` starts a
throwaway one). Under CI (`CI` set) the arq variant always runs, and fails when the URL is
missing: a CI that silently skipped Redis would prove nothing. Each test gets its own queue
name, so tests sharing one Redis never see each other's jobs.
"""

from __future__ import annotations

import os
import uuid

import pytest

__all__ = ["REDIS_ENV", "job_backends", "redis_settings_for"]

REDIS_ENV = "POWERSTRIP_TEST_REDIS_URL"


def job_backends() -> list[str]:
    """The backends to run on, from the environment."""
    if os.environ.get(REDIS_ENV) or os.environ.get("CI"):
        return ["table", "arq"]
    return ["table"]


def redis_settings_for(backend: str) -> dict[str, str]:
    """The settings that put a test's jobs on `backend` (arq: a fresh queue on the test Redis)."""
    if backend == "table":
        return {}
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.fail(
            f"CI is set but {REDIS_ENV} is not: run the suite through .ci/redis.sh, which "
            "starts a throwaway Redis"
        )
    return {"redis_url": url, "jobs_queue_name": f"t-{uuid.uuid4().hex[:12]}"}
