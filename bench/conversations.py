"""The default model (the offline router) in conversations people have with the examples.

The example plugins run on loopback (`ExampleServers`, as `powerstrip serve --dev
--with-examples` runs them) and are wired into a host for one user exactly as `make run` does
(`wire_examples`: added, registered, verified, installed). Every case of
bench/conversation_cases.py is a new conversation with its todo plugin and the sports plugin
enabled, sent through the host's chat service (`host.chats.send` / `resume`), so calls go
through the real executor, auth and approvals.

The user has "always allowed" every operation the plugins declare not consequential (the worst
case for a wrong call: it runs silently); a consequential call waits for approval, and the
simulated user approves it only when it is the expected call. Printed: the share of cases right
(the expected calls made, in order, and the expected text in the reply), wrong calls that ran
silently (writes and reads apart), wrong calls the user had to decline, by group; then the
BFCL non-live figures of bench/router.py.

    .venv/bin/python bench/conversations.py            everything
    .venv/bin/python bench/conversations.py --no-bfcl  only the conversations
    .venv/bin/python bench/conversations.py -v         also print every failing case
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conversation_cases import ASK, CASES, NONE, Case, Contains, Nth

from powerstrip.cli.dev_examples import ExampleServers, wire_examples
from powerstrip.examples import ExampleConfig
from powerstrip.examples.todo.store import TodoStore
from powerstrip.host import Host, ensure_user
from powerstrip.host.grants import add_grant
from powerstrip.runtime.events import ApprovalNeeded, CallStarted, Event, TurnDone
from powerstrip.settings import Settings

EXAMPLES = ("todo-none", "todo-service", "todo-user", "sports")
WRITES = ("add_todo", "delete_todo")
# A short answer to an off-topic message: no menu of every operation.
BRIEF_CHARACTERS = 400


@dataclass
class Made:
    """One call the scored turn led to."""

    name: str
    arguments: dict[str, Any]
    silent: bool  # ran without asking the user
    ran: bool  # ran at all (silent, or approved)


@dataclass
class Outcome:
    case: Case
    right: bool
    made: list[Made] = field(default_factory=list)
    reply: str = ""
    why: str = ""
    wrong_silent: list[Made] = field(default_factory=list)
    wrong_declined: list[Made] = field(default_factory=list)
    seconds: float = 0.0


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().casefold()
    if isinstance(value, list):
        return sorted((_norm(v) for v in value), key=repr)
    return value


def _value_ok(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Contains):
        return isinstance(actual, str) and expected.text.casefold() in actual.casefold()
    return bool(_norm(expected) == _norm(actual))


def _matches(expected: tuple[str, dict[str, Any]], made: Made, defaults: dict[str, Any]) -> bool:
    names, arguments = expected
    if made.name.rpartition("__")[2] not in names.split("|"):
        return False
    for key, value in arguments.items():
        if key not in made.arguments or not _value_ok(value, made.arguments[key]):
            return False
    # A value nobody asked for is wrong, except a limit, the schema's own default, or the
    # season filter of a lookup by name.
    lookup = _lookup(made) and "search" in made.arguments
    return all(
        key in arguments
        or key == "limit"
        or (lookup and key in LOOKUP_ARGUMENTS)
        or defaults.get(key, object()) == value
        for key, value in made.arguments.items()
    )


LOOKUPS = ("list_players", "list_teams")
LOOKUP_ARGUMENTS = frozenset({"search", "season", "seasons", "limit"})


def _lookup(made: Made) -> bool:
    """A read that finds an id by name: list_players(search=...), list_teams(limit=...)."""
    return made.name.rpartition("__")[2] in LOOKUPS and set(made.arguments) <= LOOKUP_ARGUMENTS


def _lookup_only(made: Made, expected: list[tuple[str, dict[str, Any]]]) -> bool:
    return not any(_matches(e, made, {}) for e in expected)


class Bench:
    def __init__(self, host: Host, config: ExampleConfig, plugins: dict[str, int]) -> None:
        self.host = host
        self.config = config
        self.plugins = plugins
        self.user: Any = None

    async def start(self) -> None:
        self.user = await ensure_user(self.host.sessions, "dev", admin=True)
        for plugin_id in self.plugins.values():
            tools = await self.host.registry.tools(plugin_id, revalidate=False)
            for tool in tools.toolset.tools:
                if not tool.consequential:
                    await add_grant(
                        self.host.sessions, self.user.id, plugin_id, tool.operation_id, 0
                    )

    def resolve(self, case: Case, value: Any, arguments: dict[str, Any]) -> Any:
        if isinstance(value, Nth):
            owner = str(arguments.get("username", "dev"))
            todos = TodoStore(self.config.database(case.plugin)).todos(owner)
            if not todos or not -len(todos) <= value.position < len(todos):
                return -1
            return todos[value.position].id
        return value

    async def turn(self, conversation: str, text: str, judge: Any) -> tuple[list[Made], str]:
        """Send `text`, decide every approval with `judge(name, arguments)`; the calls made."""
        made: list[Made] = []
        seen: set[str] = set()
        events: list[Event] = [e async for e in self.host.chats.send(self.user, conversation, text)]
        while True:
            asked: dict[str, bool] = {}
            for event in events:
                if isinstance(event, ApprovalNeeded):
                    arguments = json.loads(event.arguments or "{}")
                    approve = bool(judge(event.function_name, arguments))
                    asked[event.approval_id] = approve
                    seen.add(event.approval_id)
                    made.append(Made(event.function_name, arguments, False, approve))
                elif isinstance(event, CallStarted) and event.call_id not in seen:
                    seen.add(event.call_id)
                    made.append(
                        Made(event.function_name, json.loads(event.arguments or "{}"), True, True)
                    )
            done = events[-1]
            if not (isinstance(done, TurnDone) and done.paused and asked):
                text_out = done.text if isinstance(done, TurnDone) else str(done)
                return made, text_out
            events = [e async for e in self.host.chats.resume(self.user, conversation, asked)]

    async def run(self, case: Case) -> Outcome:
        todo = case.plugin if case.plugin != "sports" else "todo-user"
        ids = (self.plugins[todo], self.plugins["sports"])
        chat = await self.host.chats.create(self.user, title="bench", plugin_ids=ids)
        started = time.perf_counter()
        for text in case.setup:
            await self.turn(chat.id, text, lambda name, arguments: True)
        expected: list[tuple[str, dict[str, Any]]] = []
        if isinstance(case.expect, list):
            for names, arguments in case.expect:
                resolved = {k: self.resolve(case, v, arguments) for k, v in arguments.items()}
                expected.append((names, resolved))
        queue = list(expected)

        def judge(name: str, arguments: dict[str, Any]) -> bool:
            # The user approves the call they asked for and declines anything else.
            return bool(queue and _matches(queue[0], Made(name, arguments, False, True), {}))

        made, reply = await self.turn(chat.id, case.text, judge)
        outcome = Outcome(case, False, made, reply, seconds=time.perf_counter() - started)
        ran = [m for m in made if m.ran]
        # A lookup the router made to find an id is shown to the user and changes nothing.
        ran = [m for m in ran if not _lookup(m) or not _lookup_only(m, expected)]
        good = [len(ran) > i and _matches(expected[i], ran[i], {}) for i in range(len(expected))]
        for i, call in enumerate(ran):
            if not (i < len(expected) and good[i]):
                (outcome.wrong_silent if call.silent else outcome.wrong_declined).append(call)
        outcome.wrong_declined += [m for m in made if not m.ran]
        lowered = reply.casefold()
        if case.expect == NONE:
            outcome.right = not made and len(reply) <= BRIEF_CHARACTERS
            outcome.why = "called something" if made else "answer not brief"
        elif case.expect == ASK:
            outcome.right = not ran and "?" in reply
            outcome.why = "called instead of asking" if ran else "no question"
        else:
            outcome.right = all(good) and len(ran) == len(expected)
            outcome.why = "calls differ"
        if outcome.right and not all(h.casefold() in lowered for h in case.has):
            outcome.right = False
            outcome.why = "reply lacks " + ", ".join(
                h for h in case.has if h.casefold() not in lowered
            )
        return outcome


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "  -  "


def report(outcomes: list[Outcome], verbose: bool) -> None:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        groups[outcome.case.group or outcome.case.plugin].append(outcome)
    total = len(outcomes)
    right = sum(o.right for o in outcomes)
    silent = [m for o in outcomes for m in o.wrong_silent]
    silent_writes = [m for m in silent if m.name.rpartition("__")[2] in WRITES]
    declined = [m for o in outcomes for m in o.wrong_declined]
    print(f"conversations: {total} cases, {right} right ({percent(right, total).strip()})")
    print(
        f"wrong calls run silently: {len(silent_writes)} writes, "
        f"{len(silent) - len(silent_writes)} reads (shown to the user); "
        f"wrong calls the user declined: {len(declined)}"
    )
    print(f"{'group':14} {'cases':>6} {'right':>7}")
    for name, items in groups.items():
        print(f"{name:14} {len(items):>6} {percent(sum(o.right for o in items), len(items)):>7}")
    times = sorted(o.seconds for o in outcomes)
    print(f"per case (setup turns included): p50 {1000 * times[len(times) // 2]:.0f} ms")
    why = Counter(o.why for o in outcomes if not o.right)
    print("failures by kind: " + ", ".join(f"{k} {n}" for k, n in why.most_common()))
    if verbose:
        for o in outcomes:
            if o.right:
                continue
            calls = "; ".join(
                f"{m.name.rpartition('__')[2]}{json.dumps(m.arguments)}"
                f"{'' if m.ran else ' (declined)'}"
                for m in o.made
            )
            print(f"- [{o.case.group}] {o.case.text!r}: {o.why}; made: {calls or 'nothing'}")
            print("    expected: " + json.dumps(o.case.expect, default=repr)[:200])
            print("    reply: " + o.reply.replace("\n", " ")[:240])


async def conversations(verbose: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        config = ExampleConfig(data_dir=data / "examples")
        servers = ExampleServers(config, 0, EXAMPLES)
        servers.start()
        try:
            settings = Settings(
                dev_mode=True, data_dir=data / "host", public_url="http://127.0.0.1:8000"
            )
            host = await Host.start(settings)
            try:
                wired = await wire_examples(host, servers)
                problems = [w for w in wired if w.plugin is None]
                if problems:
                    raise SystemExit(f"examples not wired: {problems}")
                plugins = {w.name: w.plugin.id for w in wired if w.plugin is not None}
                bench = Bench(host, config, plugins)
                await bench.start()
                outcomes = [await bench.run(case) for case in CASES]
            finally:
                await host.aclose()
        finally:
            servers.close()
    report(outcomes, verbose)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-bfcl", action="store_true", help="skip the BFCL figures")
    parser.add_argument("-v", "--verbose", action="store_true", help="print failing cases")
    args = parser.parse_args()
    asyncio.run(conversations(args.verbose))
    if not args.no_bfcl:
        print()
        here = Path(__file__).with_name("router.py")
        subprocess.run([sys.executable, str(here), "--no-latency"], check=True)  # noqa: S603


if __name__ == "__main__":
    main()
