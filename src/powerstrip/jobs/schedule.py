"""Periodic jobs: each worker enqueues them once per period, under the period's id.

Every process that runs jobs runs this schedule, and each enqueues `NAME:PERIOD` (the period's
number since the epoch) when a period starts; the queue keeps one job per id, so however many
workers run, each period's job runs once. A worker also enqueues the current period's job when
it starts: one restarted within a period finds the job there already and adds nothing.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from powerstrip.errors import PowerstripError
from powerstrip.jobs.job import Enqueued, JobPayload

__all__ = ["Periodic", "run_schedule"]

logger = logging.getLogger(__name__)

Enqueue = Callable[[str, str, JobPayload], Awaitable[Enqueued]]


@dataclass(frozen=True, slots=True)
class Periodic:
    """A job enqueued every `seconds`."""

    name: str
    seconds: float
    payload: JobPayload = field(default_factory=dict)

    def period(self, now: float) -> int:
        return math.floor(now / self.seconds)


async def run_schedule(periodic: Sequence[Periodic], enqueue: Enqueue) -> None:
    """Enqueue each periodic job at the start of each of its periods, until cancelled."""
    if not periodic:
        return
    done: dict[str, int] = {}
    while True:
        now = time.time()
        for job in periodic:
            period = job.period(now)
            if done.get(job.name) == period:
                continue
            try:
                await enqueue(job.name, str(period), job.payload)
                done[job.name] = period
            except PowerstripError as exc:
                # The queue is away: the next round tries again.
                logger.warning("jobs.schedule_failed name=%s error=%s", job.name, exc.message)
            except Exception:
                logger.exception("jobs.schedule_crashed name=%s", job.name)
        now = time.time()
        wake = min((job.period(now) + 1) * job.seconds for job in periodic)
        await asyncio.sleep(max(0.01, min(wake - now, 60.0)))
