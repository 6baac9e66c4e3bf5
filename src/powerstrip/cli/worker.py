"""`powerstrip worker`: a process that only runs background jobs (docs/jobs.md).

`powerstrip serve` runs jobs itself unless `POWERSTRIP_JOBS_IN_PROCESS=false`; this command is
for the machines that do the jobs instead. It works on the same store (and Redis) as the
servers, runs until SIGINT or SIGTERM, and then hands its running jobs back to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from rich.markup import escape

from powerstrip.cli.host import load_settings, open_host, out_console, run
from powerstrip.settings import Settings

__all__ = ["worker"]


def worker() -> None:
    """Run background jobs (retention, exports, ingestion, OAuth refresh, background responses)
    until interrupted: the job worker of a machine that serves no web requests."""
    # Whatever the servers are told, this process is the one that runs jobs.
    settings = load_settings(jobs_in_process=True)
    run(_work(settings))


async def _work(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on every platform
            loop.add_signal_handler(signum, stop.set)
    from powerstrip.host import display_url

    async with open_host(settings, with_model=True) as host:
        await host.jobs.start()
        queue = (
            f"Redis queue {settings.jobs_queue_name!r}"
            if host.jobs.backend == "arq"
            else f"the jobs table of {display_url(settings.database_url)}"
        )
        out_console.print(
            f"[bold]Powerstrip worker[/]: running jobs from {escape(queue)}, "
            f"{settings.jobs_concurrency} at a time; Ctrl-C stops it"
        )
        await stop.wait()
        out_console.print("stopping: running jobs go back to the queue")
