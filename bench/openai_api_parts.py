"""Where a `/v1` chat completion's CPU goes: the host's CPU per request of lighter requests.

The host (`powerstrip serve`, as `bench/openai_api.py` starts it) is sent, one at a time,
`/healthz` (the server's floor), `/v1/models` (plus the token check and `/v1`'s routing) and a
streamed `/v1/chat/completions`; its CPU time per request is read from /proc. The model
backend's client (`OpenAICompatModel.stream`) is then timed alone in this process, the scripted
model in a child process so that its own CPU is not counted. Last, the host is started again
under cProfile and counts the Python function calls of a streamed chat completion: unlike
CPU time, a count that a loaded machine leaves as it is.

    .venv/bin/python bench/openai_api_parts.py [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from openai_api import ANSWER, BODY, cpu_seconds, host, token

from powerstrip.runtime import ChatMessage, OpenAICompatModel
from powerstrip.testing import Reply, ScriptedModelServer


async def host_parts(url: str, headers: dict[str, str], pid: int, requests: int) -> None:
    parts: list[tuple[str, str, str, Any]] = [
        ("/healthz", "GET", f"{url}/healthz", None),
        ("/v1/models", "GET", f"{url}/v1/models", None),
        ("/v1/chat/completions", "POST", f"{url}/v1/chat/completions", BODY),
    ]
    async with httpx.AsyncClient(timeout=60) as client:
        for name, method, target, body in parts:
            await client.request(method, target, headers=headers, json=body)  # warm
            before = cpu_seconds(pid)
            for _ in range(requests):
                answer = await client.request(method, target, headers=headers, json=body)
                answer.raise_for_status()
            spent = (cpu_seconds(pid) - before) / requests
            print(f"  {name:22} host CPU {spent * 1000:6.2f} ms a request")


async def counted_completions(url: str, headers: dict[str, str], pid: int, n: int) -> None:
    """`n` streamed completions, the host counting its function calls around them."""
    async with httpx.AsyncClient(timeout=60) as client:

        async def completions(count: int) -> None:
            for _ in range(count):
                answer = await client.post(f"{url}/v1/chat/completions", headers=headers, json=BODY)
                answer.raise_for_status()

        await completions(10)  # warm
        os.kill(pid, signal.SIGUSR1)
        await completions(n)
        os.kill(pid, signal.SIGUSR2)


def read_count(out: Path) -> int:
    deadline = time.monotonic() + 30
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return int(out.read_text())


def _serve_model(urls: Any, count: int) -> None:  # Any: a multiprocessing queue
    with ScriptedModelServer() as model:
        model.push(*(Reply(ANSWER) for _ in range(count)))
        urls.put(model.base_url)
        time.sleep(3600)


async def backend_alone(url: str, requests: int) -> None:
    messages = [ChatMessage("user", "Say the pangram.")]
    async with OpenAICompatModel(url, "scripted-model", None, max_retries=0) as model:
        for _ in range(10):
            [event async for event in model.stream(messages, ())]
        before = time.process_time()
        for _ in range(requests):
            [event async for event in model.stream(messages, ())]
        spent = (time.process_time() - before) / requests
    print(f"  {'OpenAICompatModel.stream':22} CPU {spent * 1000:6.2f} ms a completion")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    requests = parser.parse_args().requests
    print(f"CPU per request, {requests} requests each, one at a time")
    with tempfile.TemporaryDirectory() as folder, ScriptedModelServer() as model:
        model.push(*(Reply(ANSWER) for _ in range(requests + 10)))
        with host(model, Path(folder)) as (url, settings, pid):
            headers = {"Authorization": f"Bearer {asyncio.run(token(settings))}"}
            asyncio.run(host_parts(url, headers, pid, requests))
    with tempfile.TemporaryDirectory() as folder, ScriptedModelServer() as model:
        model.push(*(Reply(ANSWER) for _ in range(requests + 20)))
        counted = Path(folder) / "calls"
        with host(model, Path(folder), counting=counted) as (url, settings, pid):
            headers = {"Authorization": f"Bearer {asyncio.run(token(settings))}"}
            asyncio.run(counted_completions(url, headers, pid, requests))
            calls = read_count(counted) / requests
    print(f"  {'/v1/chat/completions':22} {calls:6.0f} Python function calls a request")
    urls: Any = multiprocessing.Queue()
    child = multiprocessing.Process(target=_serve_model, args=(urls, requests + 20), daemon=True)
    child.start()
    try:
        asyncio.run(backend_alone(urls.get(timeout=120), requests))
    finally:
        child.terminate()


if __name__ == "__main__":
    main()
