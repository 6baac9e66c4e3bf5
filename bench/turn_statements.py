"""The database work of one chat turn: SQL statements, commits and CPU per turn, in-process.

The sports example runs in its own process (`powerstrip example serve sports`); the host runs in
this one, so every statement the turn sends can be counted on the engine (SQLAlchemy's cursor
events). A turn is `host.chats.send` with the message "show the teams of the 2024 season": one
call to the plugin, its spec revalidated, everything recorded, as through the REST API.

Prints statements and commits per turn (by kind), and the process's CPU per turn; `--profile`
adds the functions that cost the most (cProfile, cumulative).

    .venv/bin/python bench/turn_statements.py [--turns 200] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

# The same turn, plugin and process helpers as bench/turns.py, which measures it over HTTP.
sys.path.insert(0, str(Path(__file__).parent))

from turn_setup import StatementCounter, bench_turn
from turns import POWERSTRIP, free_port, process, wait_for

from powerstrip.host import Host
from powerstrip.settings import Settings


def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        port = free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith("POWERSTRIP_")}
        example = [str(POWERSTRIP), "example", "serve", "sports", "--port", str(port)]
        example += ["--data-dir", str(data / "examples")]
        with process(example, env, data / "example.log") as child:
            base = f"http://localhost:{port}"
            wait_for(f"{base}/.well-known/ai-plugin.json", child, data / "example.log")
            asyncio.run(in_host(Settings(dev_mode=True, data_dir=data / "host"), base, args))


async def in_host(settings: Settings, plugin_url: str, args: argparse.Namespace) -> None:
    host = await Host.start(settings)
    try:
        await measure(host, plugin_url, args)
    finally:
        await host.aclose()


async def measure(host: Host, plugin_url: str, args: argparse.Namespace) -> None:
    turn = (await bench_turn(host, plugin_url)).turn
    counter = StatementCounter()
    counter.attach(host)
    # The loop thread's CPU time, not the wall clock: on a busy machine a wall-clock profile
    # charges whatever function was running when the scheduler took the core away.
    profiler = cProfile.Profile(time.thread_time) if args.profile else None
    cpu = time.process_time()
    wall = time.perf_counter()
    if profiler:
        profiler.enable()
    walls: list[float] = []
    for _ in range(args.turns):
        started = time.perf_counter()
        await turn()
        walls.append(time.perf_counter() - started)
    if profiler:
        profiler.disable()
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    per = args.turns
    kinds = ", ".join(f"{kind} {count / per:.1f}" for kind, count in counter.kinds.most_common())
    print(f"{per} turns, each: {sum(counter.kinds.values()) / per:.1f} statements ({kinds})")
    print(f"  commits per turn: {counter.commits / per:.1f}")
    print(f"  hand-offs to SQLite's thread per turn: {counter.handoffs / per:.1f}")
    print(f"  CPU per turn: {1000 * cpu / per:.2f} ms (this process: host and driver)")
    walls.sort()
    print(
        f"  wall per turn: {1000 * wall / per:.2f} ms mean, {1000 * walls[len(walls) // 2]:.2f} ms"
        f" p50, {1000 * walls[-1]:.2f} ms max (plugin call included)"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="print the costliest functions")
    parser.add_argument("--top", type=int, default=60, help="functions shown with --profile")
    parser.add_argument(
        "--sort", default="cumulative", help="cProfile order: cumulative, tottime, ncalls"
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
