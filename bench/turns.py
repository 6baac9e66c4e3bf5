"""What one chat turn costs the host, over the plugin call it makes.

Three processes, all on loopback: the sports example (`powerstrip example serve sports`), the
host (`powerstrip serve --dev`, offline router) and this driver. Every user sends the same
message ("show the teams of the 2024 season") to their own conversation through the REST API
with `"stream": false`; the same plugin call is made straight to the plugin for comparison.

Prints the host's time per turn (turn minus plugin call) at p50/p99 for one user, then
turns/s, p50/p99 and errors at 16 and 64 concurrent users, and checks in each conversation's
call log that every turn's call was recorded exactly once. Runs on SQLite, and also on
PostgreSQL when `--postgres-url` or POWERSTRIP_TEST_POSTGRES_URL names a database (a fresh
schema is made in it and dropped after).

    .venv/bin/python bench/turns.py [--turns 200] [--seconds 20] [--users 1,16,64]
    bash .ci/postgres.sh .venv/bin/python bench/turns.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from powerstrip.host import Host, ensure_user
from powerstrip.host.grants import add_grant
from powerstrip.host.users import issue_token
from powerstrip.settings import Settings
from powerstrip.store import create_engine

MESSAGE = "show the teams of the 2024 season"
# The sports example declares it not consequential: "always allow" it, as a user would once.
OPERATION = "list_teams"
POSTGRES_ENV = "POWERSTRIP_TEST_POSTGRES_URL"
POWERSTRIP = Path(sys.executable).with_name("powerstrip")
STARTUP_SECONDS = 180.0  # a loaded two-core machine takes most of a minute to import


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Return once `url` answers; fail with the process's log if it died or took too long."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args} exited:\n{log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, timeout=1.0)
            return
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}")


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        child = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextlib.asynccontextmanager
async def postgres_schema(base: str) -> AsyncIterator[str]:
    """A URL on a fresh schema of the database at `base`, dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        async with admin.begin() as connection:
            await connection.execute(text(f"CREATE SCHEMA {schema}"))
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        async with admin.begin() as connection:
            await connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        await admin.dispose()


@dataclass
class Seat:
    """One simulated user: their token and conversation, and the calls its turns reported."""

    token: str
    conversation_id: str
    calls_ok: int = 0


@dataclass
class Round:
    users: int
    seconds: float = 0.0
    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def prepare(settings: Settings, plugin_url: str, users: int) -> tuple[list[Seat], int]:
    """Add the plugin, verify it (the unverified cap is 15 users), and seat `users` users."""
    host = await Host.start(settings)
    try:
        plugin = await host.registry.add_plugin(plugin_url)
        await host.registry.set_verified(plugin.id, True)
        seats = []
        for number in range(users):
            user = await ensure_user(host.sessions, f"bench{number}")
            await host.registry.install(user.id, plugin.id)
            await add_grant(host.sessions, user.id, plugin.id, OPERATION, ttl_days=0)
            chat = await host.chats.create(user, title="bench", plugin_ids=(plugin.id,))
            seats.append(Seat(await issue_token(host.sessions, user.id), chat.id))
        return seats, plugin.id
    finally:
        await host.aclose()


async def turn(client: httpx.AsyncClient, seat: Seat) -> str | None:
    """One turn; None when it made its one call and answered, else what went wrong."""
    reply = await client.post(
        f"/api/conversations/{seat.conversation_id}/messages",
        json={"content": MESSAGE, "stream": False},
        headers={"Authorization": f"Bearer {seat.token}"},
    )
    if reply.status_code != 200:
        return f"HTTP {reply.status_code}: {reply.text[:200]}"
    events = reply.json()["events"]
    kinds = [event["type"] for event in events]
    finished = [e for e in events if e["type"] == "call_finished"]
    # Counted even when the turn failed later: the call was made, so it must be in the log.
    seat.calls_ok += sum(1 for e in finished if e["outcome"] == "ok")
    if "error" in kinds:
        return str(next(e for e in events if e["type"] == "error"))[:200]
    if len(finished) != 1 or finished[0]["outcome"] != "ok":
        return f"expected one successful call, got events {kinds}"
    return None


async def one_user(
    client: httpx.AsyncClient, direct: httpx.AsyncClient, seat: Seat, call_url: str, turns: int
) -> tuple[list[float], list[float], list[str]]:
    """Alternate a turn and the same plugin call straight to the plugin."""
    turn_times: list[float] = []
    direct_times: list[float] = []
    errors: list[str] = []
    for _ in range(turns):
        start = time.perf_counter()
        error = await turn(client, seat)
        turn_times.append(time.perf_counter() - start)
        if error:
            errors.append(error)
        start = time.perf_counter()
        (await direct.get(call_url)).raise_for_status()
        direct_times.append(time.perf_counter() - start)
    return turn_times, direct_times, errors


async def crowd(client: httpx.AsyncClient, seats: list[Seat], turns: int, seconds: float) -> Round:
    """Every seat sends turns back to back until `turns` in all were sent or time is up."""
    result = Round(users=len(seats))
    budget = {"left": turns}
    deadline = time.monotonic() + seconds

    async def user(seat: Seat) -> None:
        while budget["left"] > 0 and time.monotonic() < deadline:
            budget["left"] -= 1
            start = time.perf_counter()
            try:
                error = await turn(client, seat)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            result.times.append(time.perf_counter() - start)
            if error:
                result.errors.append(error)

    start = time.perf_counter()
    await asyncio.gather(*(user(seat) for seat in seats))
    result.seconds = time.perf_counter() - start
    return result


async def check_call_log(client: httpx.AsyncClient, seats: list[Seat]) -> list[str]:
    """Each conversation's call log holds each call its turns reported, once, and no other."""
    problems = []
    for seat in seats:
        reply = await client.get(
            f"/api/conversations/{seat.conversation_id}/calls",
            headers={"Authorization": f"Bearer {seat.token}"},
        )
        reply.raise_for_status()
        calls = reply.json()["calls"]
        ids = [call["id"] for call in calls]
        ok = [call for call in calls if call["outcome"] == "ok"]
        if len(set(ids)) != len(ids) or len(ok) != seat.calls_ok:
            problems.append(
                f"conversation {seat.conversation_id}: turns reported {seat.calls_ok} calls, "
                f"{len(ok)} calls recorded ok, {len(calls)} in all"
            )
    return problems


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a process has used so far; 0 where /proc is missing.

    The load-independent figure: on a shared machine a turn's wall time is mostly waiting for
    a core, its CPU time is what the host spent on it.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ms(value: float) -> str:
    return f"{value * 1000:.1f}"


async def drive(
    base: str, seats: list[Seat], args: argparse.Namespace, plugin_base: str, pid: int
) -> list[str]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    timeout = httpx.Timeout(60.0)
    async with (
        httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client,
        httpx.AsyncClient(timeout=timeout) as direct,
    ):
        # Warm up, and learn from the call log the exact request the turn makes.
        for _ in range(3):
            error = await turn(client, seats[0])
            if error:
                raise SystemExit(f"the warm-up turn failed: {error}")
        reply = await client.get(
            f"/api/conversations/{seats[0].conversation_id}/calls",
            headers={"Authorization": f"Bearer {seats[0].token}"},
        )
        call_url = reply.json()["calls"][-1]["url"]
        if not call_url.startswith(plugin_base):
            raise SystemExit(f"the turn called {call_url}, not the plugin at {plugin_base}")
        for _ in range(3):
            await direct.get(call_url)

        cpu = cpu_seconds(pid)
        turn_times, direct_times, errors = await one_user(
            client, direct, seats[0], call_url, args.turns
        )
        cpu = cpu_seconds(pid) - cpu
        print(f"1 user, {args.turns} turns, call {call_url.removeprefix(plugin_base)}")
        print(f"{'':<14}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
        for name, times in (("turn", turn_times), ("plugin call", direct_times)):
            print(
                f"{name:<14}{ms(percentile(times, 0.5)):>9}{ms(percentile(times, 0.99)):>9}"
                f"{ms(statistics.mean(times)):>9}"
            )
        host = [t - d for t, d in zip(turn_times, direct_times, strict=True)]
        print(
            f"{'host':<14}{ms(percentile(host, 0.5)):>9}{ms(percentile(host, 0.99)):>9}"
            f"{ms(statistics.mean(host)):>9}   errors {len(errors)}"
        )
        print(f"host CPU per turn: {ms(cpu / args.turns)} ms")
        for error in errors[:3]:
            print(f"  error: {error}")

        for users in args.users:
            if users == 1:
                continue
            cpu = cpu_seconds(pid)
            result = await crowd(
                client, seats[:users], max(args.turns * 2, users * 4), args.seconds
            )
            cpu = cpu_seconds(pid) - cpu
            rate = len(result.times) / result.seconds
            print(
                f"{users} users: {len(result.times)} turns in {result.seconds:.1f} s, "
                f"{rate:.1f} turns/s, p50 {ms(percentile(result.times, 0.5))} ms, "
                f"p99 {ms(percentile(result.times, 0.99))} ms, errors {len(result.errors)}, "
                f"host CPU per turn {ms(cpu / len(result.times))} ms"
            )
            for error in sorted(set(result.errors))[:3]:
                print(f"  error: {error}")
        return await check_call_log(client, seats)


async def run_backend(name: str, database_url: str | None, args: argparse.Namespace) -> bool:
    print(f"== {name}")
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        env = {key: value for key, value in os.environ.items() if not key.startswith("POWERSTRIP_")}
        env["POWERSTRIP_DATA_DIR"] = str(data / "host")
        if database_url:
            env["POWERSTRIP_DATABASE_URL"] = database_url
        plugin_port, host_port = free_port(), free_port()
        plugin_base = f"http://localhost:{plugin_port}"
        example = [str(POWERSTRIP), "example", "serve", "sports", "--port", str(plugin_port)]
        example += ["--data-dir", str(data / "examples")]
        with process(example, env, data / "example.log") as plugin:
            wait_for(f"{plugin_base}/.well-known/ai-plugin.json", plugin, data / "example.log")
            settings = Settings(
                dev_mode=True,
                data_dir=data / "host",
                database_url=database_url or "",
                public_url=f"http://127.0.0.1:{host_port}",
            )
            seats, _ = await prepare(settings, plugin_base, max(args.users))
            serve = [str(POWERSTRIP), "serve", "--dev", "--port", str(host_port)]
            with process(serve, env, data / "host.log") as server:
                base = f"http://127.0.0.1:{host_port}"
                wait_for(f"{base}/api/plugins", server, data / "host.log")
                if args.pid_file:
                    write_pid(args.pid_file, server.pid)
                problems = await drive(base, seats, args, plugin_base, server.pid)
    for problem in problems:
        print(f"  call log: {problem}")
    print("call log: every call recorded exactly once" if not problems else "call log: WRONG")
    return not problems


def write_pid(path: str, pid: int) -> None:
    Path(path).write_text(str(pid))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--turns",
        type=int,
        default=200,
        help="turns at 1 user (twice as many, at least 4 a user, in a crowd)",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="time cap per crowd")
    parser.add_argument("--users", default="1,16,64", help="comma-separated user counts")
    parser.add_argument("--postgres-url", default=os.environ.get(POSTGRES_ENV, ""))
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--pid-file", help="write the host server's pid here (for a profiler)")
    args = parser.parse_args()
    args.users = sorted({1, *(int(n) for n in args.users.split(","))})
    good = True
    if not args.no_sqlite:
        good = asyncio.run(run_backend("SQLite", None, args)) and good
    if args.postgres_url:

        async def on_postgres() -> bool:
            async with postgres_schema(args.postgres_url) as url:
                return await run_backend("PostgreSQL", url, args)

        good = asyncio.run(on_postgres()) and good
    raise SystemExit(0 if good else 1)


if __name__ == "__main__":
    main()
