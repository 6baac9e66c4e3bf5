"""The optional services some tests need: a Redis from `.ci/redis.sh`, and the scripts both
`.ci/redis.sh` and `.ci/postgres.sh` export to stop and start their server.

Like PostgreSQL (tests/databases.py), a test that needs one runs when its variable is set, is
skipped locally when it is not, and fails under CI (`CI` set): a CI without them must not pass
by skipping.
"""

from __future__ import annotations

import os

import pytest

__all__ = ["REDIS_ENV", "postgres_ctl", "redis_ctl", "redis_url_for_tests"]

REDIS_ENV = "POWERSTRIP_TEST_REDIS_URL"


def _required(name: str, script: str) -> str:
    value = os.environ.get(name, "")
    if value:
        return value
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {name} is not: run the suite through {script}")
    pytest.skip(f"needs {name}: run through {script}")


def redis_url_for_tests() -> str:
    """The test Redis's URL; skips (fails under CI) without one."""
    return _required(REDIS_ENV, ".ci/redis.sh")


def redis_ctl() -> str:
    """The script that stops and starts the test Redis (`CTL stop`, `CTL start`)."""
    return _required("POWERSTRIP_TEST_REDIS_CTL", ".ci/redis.sh")


def postgres_ctl() -> str:
    """The script that stops and starts the test PostgreSQL cluster."""
    _required("POWERSTRIP_TEST_POSTGRES_URL", ".ci/postgres.sh")
    return _required("POWERSTRIP_TEST_POSTGRES_CTL", ".ci/postgres.sh")
