"""The time the host adds to one plugin call, over a direct httpx call to the same plugin.

Both hit the same HTTPS plugin on loopback (a test CA, a real-looking name mapped to loopback):
the direct client is a plain `httpx.AsyncClient`; the host path is `Executor.execute`
(argument validation, request building, §6 headers, the guarded client's checks, truncation
and the redacted call record). Run: `.venv/bin/python bench/call_overhead.py [CALLS]`.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from powerstrip.net import GuardedClient
from powerstrip.openapi import convert, load_spec
from powerstrip.runtime import CallRequest, Executor
from powerstrip.testing import LoopbackServer, TestCA, loopback_policy

SPEC = """
openapi: 3.0.1
info: {title: Bench, version: v1}
paths:
  /todos/{username}:
    get:
      operationId: getTodos
      parameters:
        - {name: username, in: path, required: true, schema: {type: string}}
        - {name: limit, in: query, schema: {type: integer}}
      responses: {"200": {description: OK}}
"""
TODOS = [{"id": i, "text": f"todo number {i}"} for i in range(20)]


async def todos(request: Request) -> JSONResponse:
    return JSONResponse({"user": request.path_params["username"], "todos": TODOS})


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure(calls: int, server: LoopbackServer, ca: TestCA, ca_file: Path) -> None:
    tool = convert(load_spec(SPEC), namespace="bench").lookup("bench__getTodos")
    policy = loopback_policy(server, ["plugin.example.com"], ca_bundle=ca_file)
    direct_times: list[float] = []
    host_times: list[float] = []
    async with (
        httpx.AsyncClient(verify=ca.client_context()) as direct,
        GuardedClient(policy) as guarded,
    ):
        executor = Executor(guarded)
        request = CallRequest(base_url="https://plugin.example.com")
        url = f"https://localhost:{server.port}/todos/alice?limit=5"
        for _ in range(20):  # warm both connection pools
            await direct.get(url)
            await executor.execute(tool, '{"username": "alice", "limit": 5}', request)
        for _ in range(calls):
            start = time.perf_counter()
            response = await direct.get(url)
            response.json()
            direct_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            outcome = await executor.execute(tool, '{"username": "alice", "limit": 5}', request)
            host_times.append(time.perf_counter() - start)
            if not outcome.ok:
                raise SystemExit(f"host call failed: {outcome.error}")
    print(f"{calls} calls each, HTTPS on loopback")
    print(f"{'path':<10}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for name, times in (("direct", direct_times), ("host", host_times)):
        print(
            f"{name:<10}{percentile(times, 0.5) * 1000:>10.3f}"
            f"{percentile(times, 0.99) * 1000:>10.3f}{statistics.mean(times) * 1000:>10.3f}"
        )
    for label, share in (("p50", 0.5), ("p99", 0.99)):
        added = percentile(host_times, share) - percentile(direct_times, share)
        ratio = percentile(host_times, share) / percentile(direct_times, share)
        print(f"host overhead {label}: {added * 1000:+.3f} ms, ratio {ratio:.2f}x")


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    ca = TestCA()
    app = Starlette(routes=[Route("/todos/{username}", todos)])
    with (
        tempfile.TemporaryDirectory() as folder,
        LoopbackServer(
            app, ssl_context=ca.server_context("plugin.example.com", "localhost")
        ) as server,
    ):
        asyncio.run(measure(calls, server, ca, ca.ca_pem_path(Path(folder))))


if __name__ == "__main__":
    main()
