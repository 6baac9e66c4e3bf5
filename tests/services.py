"""The optional services some tests need: a Redis from `.ci/redis.sh`.

Like PostgreSQL (tests/databases.py), a test that needs Redis runs when
`POWERSTRIP_TEST_REDIS_URL` is set, is skipped locally when it is not, and fails under CI (`CI`
set): a CI without Redis must not pass by skipping.
"""

from __future__ import annotations

import os

import pytest

__all__ = ["REDIS_ENV", "redis_url_for_tests"]

REDIS_ENV = "POWERSTRIP_TEST_REDIS_URL"


def redis_url_for_tests() -> str:
    """The test Redis's URL; skips (fails under CI) without one."""
    url = os.environ.get(REDIS_ENV, "")
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {REDIS_ENV} is not: run the suite through .ci/redis.sh")
    pytest.skip(f"needs a Redis: run through .ci/redis.sh (sets {REDIS_ENV})")
