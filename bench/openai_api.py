"""What `/v1/chat/completions` costs over the model it fronts: time to first token and in total.

Two processes on loopback: the host (`powerstrip serve`, SQLite, its model the scripted one) and
this driver, which also runs the scripted OpenAI-compatible model (`powerstrip.testing`) in a
thread. Each request is a streamed chat completion of a short answer (no plugins offered), sent
once straight to the scripted model and once through the host's `/v1`; the driver times the
first content delta (TTFT) and the last byte, and prints p50/p99 of both paths and their ratio,
at each concurrency.

    .venv/bin/python bench/openai_api.py [--requests 500] [--concurrency 1,32]

`--profile out.txt` runs the host under py-spy (a dev dependency) and writes its samples, as
collapsed stacks (one line per stack with its count), for the part of the run through `/v1`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from powerstrip.host import ensure_user, issue_token
from powerstrip.settings import Settings
from powerstrip.store import create_engine, session_factory, upgrade
from powerstrip.testing import Reply, ScriptedModelServer

POWERSTRIP = Path(sys.executable).with_name("powerstrip")
STARTUP_SECONDS = 60.0
ANSWER = "The quick brown fox jumps over the lazy dog, twice."
BODY = {
    "model": "scripted-model",
    "messages": [{"role": "user", "content": "Say the pangram."}],
    "stream": True,
    "powerstrip": {"plugins": []},
}


def percentile(values: list[float], share: float) -> float:
    """The value at `share` (0..1) of the sorted values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Timings:
    ttft: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    errors: int = 0


async def one(client: httpx.AsyncClient, url: str, headers: dict[str, str], into: Timings) -> None:
    started = time.perf_counter()
    first: float | None = None
    text = []
    try:
        async with client.stream("POST", url, json=BODY, headers=headers) as answer:
            async for line in answer.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                for choice in chunk.get("choices") or ():
                    piece = (choice.get("delta") or {}).get("content")
                    if piece:
                        first = first or time.perf_counter()
                        text.append(piece)
    except httpx.HTTPError:
        into.errors += 1
        return
    if "".join(text) != ANSWER or first is None:
        into.errors += 1
        return
    into.ttft.append(first - started)
    into.total.append(time.perf_counter() - started)


async def run(url: str, headers: dict[str, str], requests: int, concurrency: int) -> Timings:
    timings = Timings()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(requests):
        queue.put_nowait(number)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                await one(client, url, headers, timings)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return timings


async def token(settings: Settings) -> str:
    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        sessions = session_factory(engine)
        user = await ensure_user(sessions, "bench")
        return await issue_token(sessions, user.id, "bench")
    finally:
        await engine.dispose()


# The host under cProfile, counting Python function calls between SIGUSR1 and SIGUSR2 (then
# written to the file named first): a figure the load of a shared machine does not change.
_COUNTING_HOST = """
import cProfile, signal, sys
from pathlib import Path
from powerstrip.cli import app
out, profile = Path(sys.argv[1]), cProfile.Profile()
def report(*_):
    profile.disable()
    profile.create_stats()
    out.write_text(str(sum(row[1] for row in profile.stats.values())))
signal.signal(signal.SIGUSR1, lambda *_: profile.enable())
signal.signal(signal.SIGUSR2, report)
app(args=sys.argv[2:], prog_name="powerstrip")
"""


@contextlib.contextmanager
def host(
    model: ScriptedModelServer,
    data: Path,
    profile: Path | None = None,
    counting: Path | None = None,
) -> Iterator[tuple[str, Settings, int]]:
    """The host on loopback: (URL, settings, pid). `profile`: under py-spy, its samples there;
    `counting`: counting function calls (`_COUNTING_HOST`)."""
    port = free_port()
    env = os.environ | {
        "POWERSTRIP_DATA_DIR": str(data),
        "POWERSTRIP_MODEL_BASE_URL": model.base_url,
        "POWERSTRIP_MODEL_NAME": "scripted-model",
    }
    settings = Settings(data_dir=data)
    log = data / "host.log"
    with log.open("wb") as out:
        args = [str(POWERSTRIP), "serve", "--host", "127.0.0.1", "--port", str(port)]
        if counting is not None:
            args = [sys.executable, "-c", _COUNTING_HOST, str(counting), *args[1:]]
        if profile is not None:
            spy = [str(POWERSTRIP.with_name("py-spy")), "record", "--format", "raw"]
            args = [*spy, "--rate", "100", "--nonblocking", "--output", str(profile), "--", *args]
        child = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if child.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the host did not start:\n{log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{url}/healthz", timeout=1.0)
                break
            time.sleep(0.1)
        yield url, settings, child.pid
    finally:
        child.send_signal(signal.SIGINT)  # py-spy writes its samples when its child ends
        child.wait(timeout=60)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far (Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def line(name: str, timings: Timings, base: Timings | None) -> str:
    ttft = (percentile(timings.ttft, 0.5), percentile(timings.ttft, 0.99))
    total = (percentile(timings.total, 0.5), percentile(timings.total, 0.99))
    text = (
        f"  {name:8} TTFT p50 {ttft[0] * 1000:7.2f} ms  p99 {ttft[1] * 1000:7.2f} ms   "
        f"total p50 {total[0] * 1000:7.2f} ms  p99 {total[1] * 1000:7.2f} ms   "
        f"errors {timings.errors}"
    )
    if base is not None:
        ratio = total[0] / percentile(base.total, 0.5)
        ttft_ratio = ttft[0] / percentile(base.ttft, 0.5)
        text += f"   p50 ratio TTFT {ttft_ratio:.2f}x total {ratio:.2f}x"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--profile", type=Path, help="write the host's py-spy samples here")
    options = parser.parse_args()
    levels = [int(level) for level in options.concurrency.split(",")]
    with tempfile.TemporaryDirectory() as folder, ScriptedModelServer() as model:
        model.push(*(Reply(ANSWER) for _ in range(options.requests * len(levels) * 2 + 20)))
        with host(model, Path(folder), options.profile) as (url, settings, pid):
            headers = {"Authorization": f"Bearer {asyncio.run(token(settings))}"}
            asyncio.run(run(f"{url}/v1/chat/completions", headers, 10, 1))  # warm up
            asyncio.run(run(f"{model.base_url}/chat/completions", {}, 10, 1))
            print(f"streamed chat completions, {options.requests} requests each")
            for level in levels:
                direct = asyncio.run(
                    run(f"{model.base_url}/chat/completions", {}, options.requests, level)
                )
                cpu = cpu_seconds(pid)
                through = asyncio.run(
                    run(f"{url}/v1/chat/completions", headers, options.requests, level)
                )
                cpu = cpu_seconds(pid) - cpu
                print(f"concurrency {level}:")
                print(line("direct", direct, None))
                print(line("via /v1", through, direct))
                # CPU is what load on a shared machine does not inflate (the py-spy wrapper's
                # own, under --profile).
                print(f"  host CPU per request via /v1: {cpu / options.requests * 1000:.2f} ms")


if __name__ == "__main__":
    main()
