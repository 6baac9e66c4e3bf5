"""Powerstrip under load: N users chatting with a plugin, on 4 workers (PostgreSQL + Redis)
and on 1 worker (SQLite), side by side.

Every process is on loopback: the sports example (`powerstrip example serve sports`), a scripted
OpenAI-compatible model (this script in `--serve-model` mode: each user message is answered with
a call to `list_teams`, each tool result with text), and the host workers (`powerstrip serve
--dev`). With `--workers 4` (the default) four `powerstrip serve` processes share one PostgreSQL
schema and one Redis; this driver sends each request to the next worker in turn, as a
round-robin load balancer would, so a user's consecutive turns land on different workers. The
same run is then made against one worker on SQLite.

Each user turns their own conversation back to back for `--seconds`. Prints per setup: turns,
turns/s, p50/p99 latency, errors, and the workers' CPU time per turn (the figure a loaded machine
does not distort). Afterwards it checks that every call the plugin answered was recorded exactly
once (the plugin's access log against the hosts' call logs), that every call a turn reported is
in its conversation's log once, and that every turn is complete (each user message answered,
nothing left waiting). Exits 1 on any problem.

    bash .ci/postgres.sh bash .ci/redis.sh .venv/bin/python bench/load.py --seconds 20
    .venv/bin/python bench/load.py --no-many     # 1 worker on SQLite only
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from turns import (
    POSTGRES_ENV,
    POWERSTRIP,
    free_port,
    percentile,
    postgres_schema,
    process,
    wait_for,
)

from powerstrip.host import Host, ensure_user
from powerstrip.host.grants import add_grant
from powerstrip.host.users import issue_token
from powerstrip.settings import Settings

REDIS_ENV = "POWERSTRIP_TEST_REDIS_URL"
OPERATION = "list_teams"
ARGUMENTS = {"season": 2024}
MESSAGE = "show the teams of the 2024 season"
ANSWER = "Here are the teams."
# The plugin's access log line of one call (uvicorn's format).
# Four workers importing at once on a loaded machine take minutes.
STARTUP_SECONDS = 600.0
_CALL_LINE = re.compile(r'"GET /teams\?season=2024 HTTP/1\.1" (\d{3})')


# -- the scripted model, in its own process -------------------------------------------------------


def serve_model(port: int, function_name: str) -> None:
    """Answer every chat request forever: a user message with the call, a tool result in text."""
    from powerstrip.testing import (
        CallTool,
        LoopbackServer,
        Reply,
        Respond,
        ScriptedModelServer,
        ScriptStep,
    )

    def choose(body: dict[str, Any]) -> ScriptStep:
        if body["messages"][-1]["role"] == "tool":
            return Reply(ANSWER)
        return CallTool(function_name, ARGUMENTS)

    model = ScriptedModelServer(keep_requests=1)
    # Steps are used up one per request: far more than any run makes.
    model.push(*itertools.repeat(Respond(choose), 2_000_000))
    with LoopbackServer(model.app, port=port):
        print("model ready", flush=True)
        while True:
            time.sleep(3600)


# -- the load -------------------------------------------------------------------------------------


@dataclass
class Seat:
    """One simulated user, their conversation, and what their turns reported."""

    token: str
    conversation_id: str
    turns_sent: int = 0
    calls_ok: int = 0


@dataclass
class Figures:
    name: str
    workers: int
    seconds: float = 0.0
    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu: float = 0.0
    problems: list[str] = field(default_factory=list)
    calls_received: int = 0
    calls_recorded: int = 0

    def line(self) -> str:
        turns = len(self.times)
        rate = turns / self.seconds if self.seconds else 0.0
        cpu = self.cpu / turns * 1000 if turns else 0.0
        p50 = percentile(self.times, 0.5) * 1000 if turns else 0.0
        p99 = percentile(self.times, 0.99) * 1000 if turns else 0.0
        return (
            f"{self.name:<28}{turns:>7}{rate:>9.1f}{p50:>9.1f}{p99:>9.1f}"
            f"{len(self.errors):>8}{cpu:>10.1f}"
        )


class Balancer:
    """Round robin over the workers: each request goes to the next one."""

    def __init__(self, bases: list[str]) -> None:
        limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
        self.clients = [
            httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(120.0))
            for base in bases
        ]
        self._next = itertools.cycle(range(len(bases)))

    def pick(self) -> httpx.AsyncClient:
        return self.clients[next(self._next)]

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


async def turn(balancer: Balancer, seat: Seat) -> str | None:
    """One turn through the next worker; None when it made its call and answered."""
    seat.turns_sent += 1
    reply = await balancer.pick().post(
        f"/api/conversations/{seat.conversation_id}/messages",
        json={"content": MESSAGE, "stream": False},
        headers={"Authorization": f"Bearer {seat.token}"},
    )
    if reply.status_code != 200:
        return f"HTTP {reply.status_code}: {reply.text[:200]}"
    events = reply.json()["events"]
    finished = [e for e in events if e["type"] == "call_finished"]
    # Counted even when the turn failed later: the call was made, so it must be in the log.
    seat.calls_ok += sum(1 for e in finished if e["outcome"] == "ok")
    errors = [e for e in events if e["type"] == "error"]
    if errors:
        return str(errors[0])[:200]
    if len(finished) != 1 or finished[0]["outcome"] != "ok":
        return f"expected one successful call, got {[e['type'] for e in events]}"
    done = [e for e in events if e["type"] == "turn_done"]
    if not done or done[-1]["text"] != ANSWER:
        return f"the turn did not end with the answer: {done}"
    return None


async def crowd(balancer: Balancer, seats: list[Seat], seconds: float, figures: Figures) -> None:
    deadline = time.monotonic() + seconds

    async def user(seat: Seat) -> None:
        while time.monotonic() < deadline:
            start = time.perf_counter()
            try:
                error = await turn(balancer, seat)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            figures.times.append(time.perf_counter() - start)
            if error:
                figures.errors.append(error)

    start = time.perf_counter()
    await asyncio.gather(*(user(seat) for seat in seats))
    figures.seconds = time.perf_counter() - start


async def check(balancer: Balancer, seats: list[Seat], figures: Figures) -> None:
    """Every reported call in its conversation's log once; every turn answered and closed."""
    recorded = 0
    for seat in seats:
        headers = {"Authorization": f"Bearer {seat.token}"}
        client = balancer.pick()
        calls = (
            await client.get(f"/api/conversations/{seat.conversation_id}/calls", headers=headers)
        ).json()["calls"]
        view = (
            await client.get(f"/api/conversations/{seat.conversation_id}", headers=headers)
        ).json()
        ids = [call["id"] for call in calls]
        ok = [call for call in calls if call["outcome"] == "ok"]
        recorded += len(calls)
        where = f"conversation {seat.conversation_id}"
        if len(set(ids)) != len(ids) or len(ok) != seat.calls_ok or len(calls) != len(ok):
            figures.problems.append(
                f"{where}: turns reported {seat.calls_ok} calls, {len(ok)} recorded ok, "
                f"{len(calls)} in all ({len(ids) - len(set(ids))} doubled)"
            )
        messages = view["messages"]
        users = [m for m in messages if m["role"] == "user"]
        answers = [m for m in messages if m["role"] == "assistant" and m.get("content") == ANSWER]
        if (
            len(users) != seat.turns_sent
            or len(answers) != seat.turns_sent
            or view["pending_approvals"]
        ):
            figures.problems.append(
                f"{where}: {seat.turns_sent} turns sent, {len(users)} user messages, "
                f"{len(answers)} answers, {len(view['pending_approvals'])} calls pending"
            )
    figures.calls_recorded = recorded


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- one setup ------------------------------------------------------------------------------------


async def prepare(settings: Settings, plugin_url: str, users: int) -> tuple[list[Seat], str]:
    """Add and verify the plugin, seat `users` users with it allowed; its function's name."""
    host = await Host.start(settings)
    try:
        plugin = await host.registry.add_plugin(plugin_url)
        await host.registry.set_verified(plugin.id, True)
        cached = await host.registry.tools(plugin.id)
        [function_name] = [
            t.function_name for t in cached.toolset.tools if t.operation_id == OPERATION
        ]
        seats = []
        for number in range(users):
            user = await ensure_user(host.sessions, f"load{number}")
            await host.registry.install(user.id, plugin.id)
            await add_grant(host.sessions, user.id, plugin.id, OPERATION, ttl_days=0)
            chat = await host.chats.create(user, title="load", plugin_ids=(plugin.id,))
            seats.append(Seat(await issue_token(host.sessions, user.id), chat.id))
        return seats, function_name
    finally:
        await host.aclose()


async def run_setup(
    name: str, workers: int, database_url: str, redis_url: str, args: argparse.Namespace
) -> Figures:
    figures = Figures(name, workers)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        env = {key: value for key, value in os.environ.items() if not key.startswith("POWERSTRIP_")}
        plugin_port, model_port = free_port(), free_port()
        ports = [free_port() for _ in range(workers)]
        plugin_base = f"http://localhost:{plugin_port}"
        model_url = f"http://127.0.0.1:{model_port}/v1"
        env |= {
            "POWERSTRIP_DATA_DIR": str(data / "host"),  # one data dir: one development vault key
            "POWERSTRIP_MODEL_BASE_URL": model_url,
            "POWERSTRIP_MODEL_NAME": "scripted-model",
        }
        if database_url:
            env["POWERSTRIP_DATABASE_URL"] = database_url
        if redis_url:
            env["POWERSTRIP_REDIS_URL"] = redis_url
        example = [str(POWERSTRIP), "example", "serve", "sports", "--port", str(plugin_port)]
        example += ["--data-dir", str(data / "examples")]
        plugin_log = data / "example.log"
        with process(example, env, plugin_log) as plugin:
            wait_for(f"{plugin_base}/.well-known/ai-plugin.json", plugin, plugin_log)
            settings = Settings(
                dev_mode=True,
                data_dir=data / "host",
                database_url=database_url,
                redis_url=redis_url,
                public_url=f"http://127.0.0.1:{ports[0]}",
                model_base_url=model_url,
                model_name="scripted-model",
            )
            seats, function_name = await prepare(settings, plugin_base, args.users)
            model_args = [sys.executable, __file__, "--serve-model", str(model_port)]
            model_args += ["--function", function_name]
            with process(model_args, env, data / "model.log") as model:
                _wait_for_line(data / "model.log", "model ready", model)
                servers = []
                try:
                    for number, port in enumerate(ports):
                        log = data / f"worker{number}.log"
                        serve = [str(POWERSTRIP), "serve", "--dev", "--port", str(port)]
                        worker_env = env | {"POWERSTRIP_PUBLIC_URL": f"http://127.0.0.1:{port}"}
                        context = process(serve, worker_env, log)
                        servers.append((context, context.__enter__(), log))
                    for (_, server, log), port in zip(servers, ports, strict=True):
                        _wait_up(f"http://127.0.0.1:{port}/api/plugins", server, log)
                    balancer = Balancer([f"http://127.0.0.1:{port}" for port in ports])
                    try:
                        for seat in seats[: min(4, len(seats))]:  # warm every worker up
                            for _ in range(workers):
                                error = await turn(balancer, seat)
                                if error:
                                    raise SystemExit(f"the warm-up turn failed: {error}")
                        pids = [server.pid for _, server, _ in servers]
                        cpu = sum(cpu_seconds(pid) for pid in pids)
                        await crowd(balancer, seats, args.seconds, figures)
                        figures.cpu = sum(cpu_seconds(pid) for pid in pids) - cpu
                        await check(balancer, seats, figures)
                    finally:
                        await balancer.aclose()
                finally:
                    for context, _, _ in reversed(servers):
                        context.__exit__(None, None, None)
        # The plugin's own count: every call it answered, warm-up included.
        answered = [int(m.group(1)) for m in _CALL_LINE.finditer(plugin_log.read_text())]
        figures.calls_received = len(answered)
        if figures.calls_received != figures.calls_recorded:
            figures.problems.append(
                f"the plugin answered {figures.calls_received} calls, the hosts recorded "
                f"{figures.calls_recorded}"
            )
    return figures


def _wait_up(url: str, child: subprocess.Popen[bytes], log: Path) -> None:
    """Return once `url` answers: workers starting side by side on a loaded machine are slow."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"{child.args} exited:\n{log.read_text()}")
        try:
            httpx.get(url, timeout=2.0)
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        return
    raise SystemExit(f"{url} did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}")


def _wait_for_line(log: Path, line: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"{child.args} exited:\n{log.read_text()}")
        if line in log.read_text():
            return
        time.sleep(0.1)
    raise SystemExit(f"{child.args} did not say {line!r}:\n{log.read_text()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each setup runs")
    parser.add_argument("--users", type=int, default=32, help="simulated users, one chat each")
    parser.add_argument("--workers", type=int, default=4, help="workers of the many setup")
    parser.add_argument("--postgres-url", default=os.environ.get(POSTGRES_ENV, ""))
    parser.add_argument("--redis-url", default=os.environ.get(REDIS_ENV, ""))
    parser.add_argument("--no-many", action="store_true", help="only 1 worker on SQLite")
    parser.add_argument("--no-one", action="store_true", help="only the many-worker setup")
    parser.add_argument(
        "--no-redis",
        action="store_true",
        help="the many-worker setup without Redis (to see what Redis costs; turn locks are then "
        "per worker, so only safe with one worker)",
    )
    parser.add_argument("--serve-model", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--function", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_model:
        serve_model(args.serve_model, args.function)
        return
    results: list[Figures] = []
    if not args.no_many:
        if not args.postgres_url or not (args.redis_url or args.no_redis):
            raise SystemExit(
                "the many-worker setup needs PostgreSQL and Redis: run through "
                "`bash .ci/postgres.sh bash .ci/redis.sh`, or pass --no-many"
            )

        async def many() -> Figures:
            async with postgres_schema(args.postgres_url) as url:
                redis = "" if args.no_redis else args.redis_url
                name = f"{args.workers} workers, PG" + ("" if args.no_redis else " + Redis")
                return await run_setup(name, args.workers, url, redis, args)

        results.append(asyncio.run(many()))
    if not args.no_one:
        results.append(asyncio.run(run_setup("1 worker, SQLite", 1, "", "", args)))
    print(f"{args.users} users, {args.seconds:.0f} s each, one plugin call per turn")
    print(
        f"{'setup':<28}{'turns':>7}{'turns/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'CPU ms/t':>10}"
    )
    for figures in results:
        print(figures.line())
    if len(results) == 2 and results[1].times and results[1].seconds:
        one = len(results[1].times) / results[1].seconds
        many_rate = len(results[0].times) / results[0].seconds
        print(f"speed-up: {many_rate / one:.2f}x ({os.cpu_count()} CPUs on this machine)")
    good = True
    for figures in results:
        print(
            f"{figures.name}: plugin answered {figures.calls_received} calls, "
            f"hosts recorded {figures.calls_recorded}"
        )
        for error in sorted(set(figures.errors))[:5]:
            print(f"  error: {error}")
        for problem in figures.problems[:10]:
            print(f"  problem: {problem}")
        good = good and not figures.errors and not figures.problems
    print("every call recorded exactly once, every turn complete" if good else "PROBLEMS (above)")
    raise SystemExit(0 if good else 1)


if __name__ == "__main__":
    main()
