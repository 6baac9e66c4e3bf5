"""How many no-op jobs a worker runs per second, on the jobs table and on arq (Redis).

    .venv/bin/python bench/jobs.py [--jobs 500] [--concurrency 4] [--redis-url URL]
        [--database-url URL]

Queues `--jobs` jobs with distinct ids while no worker runs (and each id once more, to show
they are not queued twice), then starts one worker and times until every job has run. Runs on
the jobs table of a fresh store (SQLite in a temporary folder unless `--database-url` names
another), and on arq too when `--redis-url` (or POWERSTRIP_TEST_REDIS_URL) is given. Prints
jobs/s and the CPU seconds the process spent; no threshold is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

from powerstrip.jobs import JobPayload, Jobs
from powerstrip.settings import Settings
from powerstrip.store import create_engine, session_factory, upgrade


async def run(settings: Settings, count: int) -> tuple[float, float, int, int]:
    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    ran: list[int] = []
    done = asyncio.Event()

    async def handler(payload: JobPayload) -> None:
        ran.append(int(payload["n"]))
        if len(ran) >= count:
            done.set()

    web = Jobs(settings.model_copy(update={"jobs_in_process": False}), session_factory(engine))
    web.register("bench.noop", handler)
    new = 0
    for n in range(count):
        new += (await web.enqueue("bench.noop", str(n), {"n": n})).new
        new += (await web.enqueue("bench.noop", str(n), {"n": n})).new  # not queued again
    await web.aclose()
    worker = Jobs(settings, session_factory(engine))
    worker.register("bench.noop", handler)
    cpu, wall = time.process_time(), time.perf_counter()
    await worker.start()
    await asyncio.wait_for(done.wait(), timeout=600)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await worker.aclose()
    await engine.dispose()
    return wall, cpu, new, len(ran)


async def main(count: int, concurrency: int, redis_url: str, database_url: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        base = Settings(
            data_dir=Path(folder),
            database_url=database_url,
            jobs_concurrency=concurrency,
            jobs_poll_seconds=0.05,
        )
        variants = [("jobs table", base)]
        if redis_url:
            queue = f"bench-{uuid.uuid4().hex[:8]}"
            variants.append(
                ("arq", base.model_copy(update={"redis_url": redis_url, "jobs_queue_name": queue}))
            )
        print(f"{count} jobs, {concurrency} at a time")
        for name, settings in variants:
            wall, cpu, new, ran = await run(settings, count)
            print(
                f"{name:>10}: {count / wall:8.0f} jobs/s  wall {wall:6.2f}s  cpu {cpu:6.2f}s  "
                f"({cpu / count * 1000:.2f} ms cpu/job)  queued {new} of {2 * count} enqueues, "
                f"ran {ran}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--redis-url", default=os.environ.get("POWERSTRIP_TEST_REDIS_URL", ""))
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.concurrency, args.redis_url, args.database_url))
