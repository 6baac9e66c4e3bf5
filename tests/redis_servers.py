"""The coordination backends tests run on: in memory always, Redis when one is given.

`POWERSTRIP_TEST_REDIS_URL` names a Redis the tests may write to (`.ci/redis.sh` starts a
throwaway one); each test keeps to keys of its own prefix. Under CI (`CI` set) the Redis variant
always runs, and fails when the URL is missing: a CI that silently skipped Redis would prove
nothing (the rule `tests/databases.py` keeps for PostgreSQL).
"""

from __future__ import annotations

import os
import uuid

import pytest

__all__ = ["REDIS_ENV", "coordination_backends", "fresh_prefix", "redis_only", "redis_url"]

REDIS_ENV = "POWERSTRIP_TEST_REDIS_URL"


def coordination_backends() -> list[str]:
    """The backends to run on, from the environment."""
    if os.environ.get(REDIS_ENV) or os.environ.get("CI"):
        return ["memory", "redis"]
    return ["memory"]


def redis_only() -> list[str]:
    """`["redis"]` when the Redis variant runs, else none: for tests of what only Redis does
    (parametrize a `redis` argument with it)."""
    return [name for name in coordination_backends() if name == "redis"]


def redis_url() -> str:
    """The test Redis's URL; fails (never skips) when it is missing."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.fail(
            f"CI is set but {REDIS_ENV} is not: run the suite through .ci/redis.sh, "
            "which starts a throwaway Redis"
        )
    return url


def fresh_prefix() -> str:
    """A key prefix no other test uses."""
    return f"test-{uuid.uuid4().hex[:12]}:"
