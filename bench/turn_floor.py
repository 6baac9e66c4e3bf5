"""The floor under a chat turn: what the parts a turn cannot skip cost alone, on this machine.

A turn ("show the teams of the 2024 season", the sports example in its own process, as in
bench/turns.py) must take a request in, revalidate the plugin's spec (a conditional GET, as the
platform requires on every turn), make the call, record the turn (its 17 statements,
bench/turn_statements.py), and let the model decide twice (the call, then the answer). Each
part is measured here alone, with the least machinery that still does it, as CPU time:

- the server's floor: `powerstrip serve`'s CPU for one `/healthz` request (uvicorn and the
  app's middleware, nothing else), read from /proc;
- the two outbound exchanges with a plain `httpx.AsyncClient` (no guard, no caps);
- the turn's own statements, captured from a real turn and replayed with Python's `sqlite3` on
  the same database in one transaction (no SQLAlchemy, no thread), through the host's engine
  (SQLAlchemy Core's async layer on the threaded driver, no ORM), and as one job on SQLite's
  thread (`store.read_job`: SQLAlchemy Core, synchronous, one trip);
- the offline router's two decisions, called directly.

Their sum is compared with the whole turn in-process and with the CPU one process may spend
per turn to serve 150 turns/s on one core (the GIL keeps a process's Python on one core).

    .venv/bin/python bench/turn_floor.py [--turns 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection

sys.path.insert(0, str(Path(__file__).parent))

from turn_setup import StatementCounter, bench_turn
from turns import MESSAGE, POWERSTRIP, cpu_seconds, free_port, process, wait_for

from powerstrip.host import Host
from powerstrip.runtime import ChatMessage, ModelToolCall, ToolSpec
from powerstrip.runtime.offline import OfflineRouter
from powerstrip.settings import Settings
from powerstrip.store import read_job

TARGET_TURNS_PER_SECOND = 150


def per_turn(seconds: float, turns: int) -> float:
    return 1000 * seconds / turns


def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        env = {key: value for key, value in os.environ.items() if not key.startswith("POWERSTRIP_")}
        plugin_port, host_port = free_port(), free_port()
        example = [str(POWERSTRIP), "example", "serve", "sports", "--port", str(plugin_port)]
        example += ["--data-dir", str(data / "examples")]
        serve = [str(POWERSTRIP), "serve", "--dev", "--port", str(host_port)]
        server_env = {**env, "POWERSTRIP_DATA_DIR": str(data / "server")}
        with process(example, env, data / "example.log") as plugin:
            base = f"http://localhost:{plugin_port}"
            wait_for(f"{base}/.well-known/ai-plugin.json", plugin, data / "example.log")
            with process(serve, server_env, data / "server.log") as server:
                wait_for(f"http://127.0.0.1:{host_port}/healthz", server, data / "server.log")
                rows = asyncio.run(
                    measure(
                        Settings(dev_mode=True, data_dir=data / "host"),
                        base,
                        f"http://127.0.0.1:{host_port}",
                        server.pid,
                        args.turns,
                    )
                )
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value:7.2f} ms")


async def measure(
    settings: Settings, plugin_url: str, server_url: str, server_pid: int, turns: int
) -> list[tuple[str, float]]:
    host = await Host.start(settings)
    try:
        return await parts(host, plugin_url, server_url, server_pid, turns)
    finally:
        await host.aclose()


async def parts(
    host: Host, plugin_url: str, server_url: str, server_pid: int, turns: int
) -> list[tuple[str, float]]:
    prepared = await bench_turn(host, plugin_url)
    turn, user = prepared.turn, prepared.user
    started = time.process_time()
    for _ in range(turns):
        await turn()
    whole = per_turn(time.process_time() - started, turns)
    # Captured last: its history read starts at the seq the cache held, so replayed later it
    # would read every message written since.
    statements = await captured_statements(host, turn)

    calls = await host.chats.calls(user, prepared.conversation_id)
    call_url = str(calls[-1]["url"])
    rows = [
        (
            "HTTP request in: /healthz on `powerstrip serve`",
            await http_floor(server_url, server_pid, turns),
        ),
        (
            "two outbound exchanges, plain httpx (304 + call)",
            await outbound_floor(plugin_url, call_url, turns),
        ),
        (
            f"the turn's {len(statements)} statements, sqlite3 alone",
            sqlite_floor(host, statements, turns),
        ),
        ("the same through SQLAlchemy Core", await core_floor(host, statements, turns)),
        (
            "the same as one job of SQLAlchemy Core (store.read_job)",
            await job_floor(host, statements, turns),
        ),
        (
            "offline router: the call, then the answer",
            await router_floor(host, prepared.plugin_id, user.id, call_url, turns),
        ),
    ]
    floor = sum(value for name, value in rows if "SQLAlchemy" not in name)
    rows += [
        ("sum of the floors (sqlite3 alone)", floor),
        (
            f"budget for {TARGET_TURNS_PER_SECOND} turns/s in one process",
            1000 / TARGET_TURNS_PER_SECOND,
        ),
        ("the whole turn, in-process (no HTTP request in)", whole),
    ]
    return rows


async def captured_statements(host: Host, turn: Any) -> list[tuple[str, Any]]:  # Any: params
    """The statements (with their parameters) of one real turn, BEGINs left out."""
    counter = StatementCounter(capture=True)
    counter.attach(host)
    try:
        await turn()
    finally:
        counter.detach()
    return counter.captured


async def http_floor(server_url: str, pid: int, turns: int) -> float:
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(20):
            (await client.get(f"{server_url}/healthz")).raise_for_status()
        before = cpu_seconds(pid)
        for _ in range(turns):
            (await client.get(f"{server_url}/healthz")).raise_for_status()
        return per_turn(cpu_seconds(pid) - before, turns)


async def outbound_floor(plugin_url: str, call_url: str, turns: int) -> float:
    async with httpx.AsyncClient(timeout=30) as client:
        manifest = (await client.get(f"{plugin_url}/.well-known/ai-plugin.json")).json()
        spec_url = manifest["api"]["url"]
        etag = (await client.get(spec_url)).headers.get("etag", "")

        async def pair() -> None:
            revalidated = await client.get(spec_url, headers={"If-None-Match": etag})
            if revalidated.status_code != 304:
                raise SystemExit(f"the spec was not revalidated: {revalidated.status_code}")
            (await client.get(call_url)).raise_for_status()

        for _ in range(5):
            await pair()
        started = time.process_time()
        for _ in range(turns):
            await pair()
        return per_turn(time.process_time() - started, turns)


def fresh(statements: list[tuple[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements again, each call row with a new id (the captured one is in the table)."""
    return [
        (text, (str(uuid.uuid4()), *params[1:]) if text.startswith("INSERT INTO calls") else params)
        for text, params in statements
    ]


def sqlite_floor(host: Host, statements: list[tuple[str, Any]], turns: int) -> float:
    path = host.engine.url.database
    if not path:
        raise SystemExit("the host's database is not a SQLite file")
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        started = time.process_time()
        for _ in range(turns):
            connection.execute("BEGIN IMMEDIATE")
            for text, params in fresh(statements):
                connection.execute(text, params).fetchall()
            connection.execute("ROLLBACK")
        return per_turn(time.process_time() - started, turns)
    finally:
        connection.close()


async def core_floor(host: Host, statements: list[tuple[str, Any]], turns: int) -> float:
    started = time.process_time()
    for _ in range(turns):
        async with host.engine.connect() as connection:
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
            for text, params in fresh(statements):
                result = await connection.exec_driver_sql(text, params)
                if result.returns_rows:
                    result.fetchall()
            await connection.rollback()
    return per_turn(time.process_time() - started, turns)


async def job_floor(host: Host, statements: list[tuple[str, Any]], turns: int) -> float:
    """The statements as one job on SQLite's thread (`store.read_job`, which rolls back)."""

    def replay(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        for text, params in fresh(statements):
            result = connection.exec_driver_sql(text, params)
            if result.returns_rows:
                result.fetchall()

    started = time.process_time()
    for _ in range(turns):
        await read_job(host.sessions, replay)
    return per_turn(time.process_time() - started, turns)


async def router_floor(
    host: Host, plugin_id: int, user_id: int, call_url: str, turns: int
) -> float:
    cached = await host.registry.tools(plugin_id, user_id=user_id)
    tools = [ToolSpec(t.function_name, t.description, t.parameters) for t in cached.toolset.tools]
    async with httpx.AsyncClient(timeout=30) as client:
        result = (await client.get(call_url)).text
    router = OfflineRouter()
    asked = [ChatMessage("user", MESSAGE)]

    async def decisions() -> None:
        call = None
        async for event_ in router.stream(asked, tools):
            if isinstance(event_, ModelToolCall):
                call = event_.call
        if call is None:
            raise SystemExit("the router did not call the plugin")
        answered = [
            *asked,
            ChatMessage("assistant", None, tool_calls=(call,)),
            ChatMessage("tool", result, tool_call_id=call.id, source_plugin="sports"),
        ]
        async for _ in router.stream(answered, tools):
            pass

    for _ in range(5):
        await decisions()
    started = time.process_time()
    for _ in range(turns):
        await decisions()
    return per_turn(time.process_time() - started, turns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    args = parser.parse_args()
    run(args)


if __name__ == "__main__":
    main()
