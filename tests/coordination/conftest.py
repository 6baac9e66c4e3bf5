"""Each protocol on both backends: `shared` (one worker's view) and `worker(...)` (another's).

On memory, "another worker" is the same object (there is only one process); on Redis it is a
second `Coordination` on its own connections with the same key prefix, as a second worker
process would have.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from powerstrip.coordination import Coordination, build_coordination
from powerstrip.settings import Settings
from tests.redis_servers import coordination_backends, fresh_prefix, redis_url

# Short, so a test of an expiring lease waits a moment; long enough that a loaded machine
# still renews it in time (renewed every third: a worker stalled for a whole lease loses it).
LEASE = 3.0

Workers = Callable[[], Coordination]


@pytest.fixture(params=coordination_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def workers(backend: str, tmp_path: Path) -> AsyncIterator[Workers]:
    """Build one worker's `Coordination` per call, all sharing one backend."""
    prefix = fresh_prefix()
    settings = Settings(data_dir=tmp_path, redis_url=redis_url() if backend == "redis" else "")
    built: list[Coordination] = []
    memory = build_coordination(settings) if backend == "memory" else None

    def worker() -> Coordination:
        if memory is not None:
            return memory
        made = build_coordination(settings, prefix=prefix, lease_seconds=LEASE)
        built.append(made)
        return made

    yield worker
    for made in built:
        await made.aclose()


@pytest.fixture
def shared(workers: Workers) -> Coordination:
    return workers()
