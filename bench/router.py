"""The offline router on BFCL's non-live categories, beside a plain BM25 baseline, and its speed.

Data: the Berkeley Function Calling Leaderboard questions shipped in the `bfcl-eval` wheel,
downloaded once with `pip download bfcl-eval --no-deps` into ~/.cache/powerstrip/bench and read
with zipfile (the package is never installed). The router is tuned and fitted on
`simple_python`, `multiple` and `irrelevance`; `parallel`, `parallel_multiple`, `simple_java`
and `simple_javascript` are only scored, to check that what was tuned carries over. The live
categories are kept for an independent evaluation and this script never opens them.

    .venv/bin/python bench/router.py          the comparison table and the latency figures
    .venv/bin/python bench/router.py --fit    refit the selection weights and threshold
    .venv/bin/python bench/router.py --fit --repeats   the two threshold rules, 10 x 5-fold
    .venv/bin/python bench/router.py --turns  the router's CPU per turn at turn 1 and turn 50
    .venv/bin/python bench/router.py --failures parallel   one category's failures, listed

Scores: *function name* is the share of questions where the operation the router chose (to
call, or to ask an argument for) is the expected one; *full call* is the share whose emitted
call passes the AST checker in bench/bfcl_check.py (BFCL's rules, rewritten); *abstention* is
the share of `irrelevance` questions where the router called nothing and asked nothing.
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from bfcl_check import check_call

from powerstrip.runtime import ChatMessage, ModelTextDelta, ModelToolCall, ToolSpec
from powerstrip.runtime.offline import OfflineRouter
from powerstrip.runtime.offline import select as selection
from powerstrip.runtime.offline.bm25 import BM25Index
from powerstrip.runtime.offline.router import _QUESTION
from powerstrip.runtime.offline.tokenize import identifier_words, terms

CACHE = Path.home() / ".cache" / "powerstrip" / "bench"
CATEGORIES = ("simple_python", "multiple", "irrelevance")
# Non-live categories never used to tune or fit the router, only to check that what was
# tuned on the categories above carries over: the share whose (first) call is to one of the
# expected functions. The router makes one call a turn, so only the name is scored.
UNTUNED = ("parallel", "parallel_multiple", "simple_java", "simple_javascript")
_TYPES = {"dict": "object", "float": "number", "tuple": "array", "any": None}


@dataclass(frozen=True, slots=True)
class Case:
    category: str
    id: str
    question: str
    functions: list[dict[str, Any]]  # as BFCL wrote them, for the checker
    tools: list[ToolSpec]  # as the router sees them (JSON Schema)
    answers: list[dict[str, Any]]  # possible answers: [{name: {param: [accepted]}}]


def wheel() -> Path:
    """The bfcl-eval wheel in the cache, downloaded on first use."""
    found = sorted(CACHE.glob("bfcl_eval-*.whl"))
    if not found:
        CACHE.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "bfcl-eval", "--no-deps"]
        subprocess.run([*command, "-d", str(CACHE)], check=True)  # noqa: S603 (fixed argv)
        found = sorted(CACHE.glob("bfcl_eval-*.whl"))
    return found[-1]


def json_schema(schema: Any) -> Any:
    """BFCL's Python-flavoured schema (`dict`, `float`, `tuple`, `any`) as JSON Schema."""
    if isinstance(schema, list):
        return [json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            mapped = _TYPES.get(value, value)
            if mapped is not None:
                out["type"] = mapped
        elif key == "optional":
            continue
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {name: json_schema(sub) for name, sub in value.items()}
        else:
            out[key] = json_schema(value)
    return out


def _lines(archive: zipfile.ZipFile, name: str) -> Iterator[dict[str, Any]]:
    for line in archive.read(name).decode().splitlines():
        if line.strip():
            yield json.loads(line)


def load(category: str) -> list[Case]:
    if category.startswith("live"):
        raise SystemExit("the live categories are held out: this bench never reads them")
    with zipfile.ZipFile(wheel()) as archive:
        names = archive.namelist()
        question_file = next(n for n in names if n.endswith(f"/data/BFCL_v4_{category}.json"))
        answer_file = question_file.replace("/data/", "/data/possible_answer/")
        answers = (
            {row["id"]: row["ground_truth"] for row in _lines(archive, answer_file)}
            if answer_file in names
            else {}
        )
        cases = []
        for row in _lines(archive, question_file):
            turn = row["question"][0]
            question = next(m["content"] for m in reversed(turn) if m["role"] == "user")
            tools = [
                ToolSpec(f["name"], f.get("description", ""), json_schema(f["parameters"]))
                for f in row["function"]
            ]
            cases.append(
                Case(
                    category,
                    row["id"],
                    question,
                    row["function"],
                    tools,
                    answers.get(row["id"], []),
                )
            )
    return cases


def python_values(function: dict[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """Read JSON numbers as BFCL's Python types: JSON has one number type, `float` wants floats."""
    declared = function["parameters"].get("properties", {})
    out = dict(arguments)
    for name, value in arguments.items():
        schema = declared.get(name, {})
        items = (
            schema.get("items", {}).get("type") if isinstance(schema.get("items"), dict) else None
        )
        if schema.get("type") == "float" and isinstance(value, int) and not isinstance(value, bool):
            out[name] = float(value)
        elif items == "float" and isinstance(value, list):
            out[name] = [float(v) if type(v) is int else v for v in value]
    return out


@dataclass(frozen=True, slots=True)
class Outcome:
    calls: tuple[tuple[str, dict[str, Any]], ...]  # every call of the assistant message
    asked: str | None = None  # the operation a question asked an argument for

    @property
    def chosen(self) -> str | None:
        """The (first) operation called or asked about."""
        return self.calls[0][0] if self.calls else self.asked

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.calls] or ([self.asked] if self.asked else [])


async def run_router(router: OfflineRouter, case: Case) -> Outcome:
    calls: list[tuple[str, dict[str, Any]]] = []
    text = ""
    async for event in router.stream([ChatMessage("user", case.question)], case.tools):
        if isinstance(event, ModelToolCall):
            calls.append((event.call.name, json.loads(event.call.arguments)))
        elif isinstance(event, ModelTextDelta):
            text += event.text
    asked = None
    if not calls and (match := _QUESTION.match(text)):
        asked = match[1]
    return Outcome(tuple(calls), asked)


def run_baseline(case: Case) -> Outcome:
    """Plain BM25 over names, descriptions and parameter names: the top tool, no arguments."""
    documents = [
        terms(identifier_words(t.name))
        + terms(t.description)
        + terms(identifier_words(" ".join(t.parameters.get("properties", {}))))
        for t in case.tools
    ]
    scores = BM25Index(documents).scores(terms(case.question))
    best = case.tools[max(range(len(scores)), key=scores.__getitem__)]
    defaults = {
        name: schema["default"]
        for name, schema in best.parameters.get("properties", {}).items()
        if name in best.parameters.get("required", []) and "default" in schema
    }
    return Outcome(((best.name, defaults),))


def _passes_one(case: Case, call: tuple[str, dict[str, Any]], answer: dict[str, Any]) -> bool:
    name, arguments = call
    function = next((f for f in case.functions if f["name"] == name), None)
    if function is None:
        return False
    return check_call(function, name, python_values(function, arguments), answer)[0]


def passes(case: Case, outcome: Outcome) -> bool:
    """BFCL's rule: one call per expected call, each passing for one of them, in any order,
    and no call more (a simple category expects exactly one)."""
    if not case.answers or len(outcome.calls) != len(case.answers):
        return False
    unused = list(outcome.calls)
    for answer in case.answers:
        # As BFCL's checker: each expected call takes the first unused call that passes.
        found = next((c for c in unused if _passes_one(case, c, answer)), None)
        if found is None:
            return False
        unused.remove(found)
    return True


def names_right(case: Case, outcome: Outcome) -> bool:
    """The operations called (or the one asked about) are the expected ones, as many times."""
    return sorted(outcome.names) == sorted(next(iter(answer)) for answer in case.answers)


def expected_name(case: Case) -> str:
    return next(iter(case.answers[0]))


@dataclass
class Scores:
    name: list[bool]
    full: list[bool]
    abstain: list[bool]

    def row(self) -> tuple[str, str, str]:
        def pct(values: list[bool]) -> str:
            return f"{100 * sum(values) / len(values):5.1f}%" if values else "   -  "

        return pct(self.name), pct(self.full), pct(self.abstain)


def score(cases: list[Case], outcomes: list[Outcome]) -> Scores:
    result = Scores([], [], [])
    for case, outcome in zip(cases, outcomes, strict=True):
        if case.category == "irrelevance":
            result.abstain.append(outcome.chosen is None)
        else:
            result.name.append(names_right(case, outcome))
            result.full.append(passes(case, outcome))
    return result


def latency_tools(total: int) -> tuple[list[ToolSpec], list[str]]:
    """`total` operations in 3 plugins: BFCL `multiple` functions under three namespaces."""
    tools: list[ToolSpec] = []
    questions: list[str] = []
    seen: set[str] = set()
    for case in load("multiple"):
        for tool in case.tools:
            name = tool.name.replace(".", "_")
            if name in seen or len(tools) >= total:
                continue
            seen.add(name)
            namespace = ("weather", "finance", "science")[len(tools) % 3]
            tools.append(replace(tool, name=f"{namespace}__{name}"[:64]))
        questions.append(case.question)
    return tools, questions


async def latency(router: OfflineRouter, total: int) -> tuple[float, float, float]:
    tools, questions = latency_tools(total)
    system = ChatMessage("system", "You can call the functions of the plugins below.")
    started = time.perf_counter()
    async for _ in router.stream([system, ChatMessage("user", questions[0])], tools):
        pass
    cold = (time.perf_counter() - started) * 1000
    timings = []
    cpu: list[float] = []
    for question in questions * 3:
        started, started_cpu = time.perf_counter(), time.thread_time()
        async for _ in router.stream([system, ChatMessage("user", question)], tools):
            pass
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    timings.sort()
    cpu.sort()
    p99 = timings[min(len(timings) - 1, math.ceil(0.99 * len(timings)) - 1)]
    cpu_p99 = cpu[min(len(cpu) - 1, math.ceil(0.99 * len(cpu)) - 1)]
    # CPU time is the load-independent figure: on a shared machine wall time is mostly
    # waiting for a core.
    print(f"  (CPU time per turn: p50 {statistics.median(cpu):.2f} ms, p99 {cpu_p99:.2f} ms)")
    return cold, statistics.median(timings), p99


def example_cases() -> list[Case]:
    """Single-turn requests of bench/conversation_cases.py over the examples' own tool lists."""
    import tempfile

    from conversation_cases import CASES, NONE
    from starlette.testclient import TestClient

    from powerstrip.examples import EXAMPLES, ExampleConfig
    from powerstrip.openapi import convert, load_spec

    tools: dict[str, list[ToolSpec]] = {}
    with tempfile.TemporaryDirectory() as folder:
        config = ExampleConfig(data_dir=Path(folder))
        for name in ("todo-none", "todo-service", "todo-user", "sports"):
            with TestClient(EXAMPLES[name].build(config)) as client:
                spec = client.get("/openapi.yaml").text
            namespace = name.replace("-", "_")
            tools[name] = [
                ToolSpec(t.function_name, t.description, t.parameters)
                for t in convert(load_spec(spec), namespace=namespace).tools
            ]
    out: list[Case] = []
    for number, case in enumerate(CASES):
        if case.setup or (case.expect != NONE and not isinstance(case.expect, list)):
            continue
        todo = case.plugin if case.plugin != "sports" else "todo-user"
        listed = tools[todo] + tools["sports"]
        if case.expect == NONE:
            answers: list[dict[str, Any]] = []
            category = "irrelevance"
        else:
            wanted = case.expect[-1][0].split("|")[0]
            full = next(t.name for t in listed if t.name.endswith(f"__{wanted}"))
            answers = [{full: {}}]
            category = "examples"
        out.append(Case(category, f"example_{number}", case.text, [], listed, answers))
    return out


FEATURES = ("name", "query", "description", "semantic", "generic", "required", "missing")
FEATURES += ("explained", "contradicted")


def features(case: Case, weights: selection.FitWeights) -> tuple[np.ndarray, int]:
    """Fit features of the tool that matters: the expected one, or the top one if none fits."""
    index = selection.index_for(case.tools)
    ranked = index.rank(case.question, replace(weights, semantic=1.0, generic=1.0))
    if not case.answers:
        pick = ranked[0]
    else:
        pick = next((c for c in ranked if c.tool.name == expected_name(case)), ranked[0])
    pick = index.judge(pick, case.question, weights)
    label = 0 if not case.answers else 1
    row = [
        pick.name_coverage,
        pick.query_coverage,
        pick.description_coverage,
        pick.semantic,
        pick.generic_coverage,
        pick.required_coverage,
        pick.missing_required,
        pick.explained,
        pick.contradicted,
    ]
    return np.array(row), label


def _logistic(x: np.ndarray, y: np.ndarray, sample: np.ndarray) -> np.ndarray:
    design = np.hstack([np.ones((len(x), 1)), x])
    beta = np.zeros(design.shape[1])
    for _ in range(20_000):
        p = 1 / (1 + np.exp(-design @ beta))
        gradient = design.T @ (sample * (p - y)) / len(y) + 1e-3 * np.r_[0, beta[1:]]
        beta -= 2.0 * gradient
    return beta


def _weights(source: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each source counts equally, and within it both classes do."""
    sample = np.zeros(len(y))
    groups = sorted(set(source.tolist()))
    for group in groups:
        for label in (0, 1):
            mask = (source == group) & (y == label)
            if mask.any():
                sample[mask] = 1.0 / mask.sum()
    return sample * len(y) / sample.sum()


def _probabilities(beta: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(np.hstack([np.ones((len(x), 1)), x]) @ beta)))


def _worst(p: np.ndarray, y: np.ndarray, source: np.ndarray, threshold: float) -> float:
    """The accuracy of the worst (source, class) group: a threshold good for every source."""
    shares = []
    for group in set(source.tolist()):
        for label in (0, 1):
            mask = (source == group) & (y == label)
            if mask.any():
                right = p[mask] >= threshold if label else p[mask] < threshold
                shares.append(float(right.mean()))
    return min(shares)


# Thresholds whose worst group is within this of the best are as good: the middle of their run
# is chosen, so that held-out scores a little off the fitted ones do not fall off a cliff.
_PLATEAU = 0.005


def _threshold(p: np.ndarray, y: np.ndarray, source: np.ndarray, thresholds: np.ndarray) -> float:
    """The middle of the run of thresholds around the best worst-group accuracy."""
    worst = [_worst(p, y, source, t) for t in thresholds]
    best = int(np.argmax(worst))
    low = high = best
    while low > 0 and worst[low - 1] >= worst[best] - _PLATEAU:
        low -= 1
    while high + 1 < len(worst) and worst[high + 1] >= worst[best] - _PLATEAU:
        high += 1
    return float(thresholds[(low + high) // 2])


def _single_best(p: np.ndarray, y: np.ndarray, source: np.ndarray, thresholds: np.ndarray) -> float:
    """The threshold whose worst group is best (the rule before `_threshold`)."""
    return float(max(thresholds, key=lambda t: _worst(p, y, source, t)))


def _held_out(
    x: np.ndarray,
    y: np.ndarray,
    source: np.ndarray,
    thresholds: np.ndarray,
    seed: int,
    rule: Any,  # Any: one of the threshold rules above
    groups: list[tuple[str, int, str]],
) -> list[float]:
    """Each (source, class) group's share decided right on held-out folds of a 5-fold split."""
    folds = np.random.default_rng(seed).integers(0, 5, len(y))
    decided = np.zeros(len(y), dtype=bool)
    for fold in range(5):
        train, test = folds != fold, folds == fold
        beta = _logistic(x[train], y[train], _weights(source[train], y[train]))
        best = rule(_probabilities(beta, x[train]), y[train], source[train], thresholds)
        decided[test] = _probabilities(beta, x[test]) >= best
    return [
        float((decided[(source == g) & (y == label)] == bool(label)).mean())
        for g, label, _ in groups
    ]


def fit(cases: list[Case]) -> None:
    """Logistic regression of the fit score on several sources, cross-validated, then refit."""
    weights = selection.WEIGHTS
    cases = cases + example_cases()
    rows = [features(case, weights) for case in cases]
    x = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    # Sources: BFCL's answerable questions, BFCL's irrelevance, and the example requests
    # (their off-topic ones are a source of their own).
    source = np.array(
        [
            "examples"
            if c.id.startswith("example_")
            else ("bfcl-irrelevance" if c.category == "irrelevance" else "bfcl")
            for c in cases
        ]
    )
    thresholds = np.arange(0.2, 0.81, 0.01)
    groups = [
        (group, label, noun)
        for group in sorted(set(source.tolist()))
        for label, noun in ((1, "called when one fits"), (0, "abstained when none fits"))
        if ((source == group) & (y == label)).any()
    ]
    if "--repeats" in sys.argv:
        # The two threshold rules, held out over ten random fold assignments.
        for name, rule in (("middle of the best", _threshold), ("single best", _single_best)):
            shares = np.mean(
                [_held_out(x, y, source, thresholds, seed, rule, groups) for seed in range(10)],
                axis=0,
            )
            figures = ", ".join(
                f"{g} {noun.split()[0]} {100 * v:.2f}%"
                for (g, _, noun), v in zip(groups, shares, strict=True)
            )
            print(f"10 x 5-fold, threshold {name}: {figures}")
        return
    print("5-fold cross-validated (held-out folds):")
    shares = _held_out(x, y, source, thresholds, 7, _threshold, groups)
    for (group, label, noun), share in zip(groups, shares, strict=True):
        count = int(((source == group) & (y == label)).sum())
        print(f"  {group:18} {noun:26} {100 * share:5.1f}% of {count}")
    beta = _logistic(x, y, _weights(source, y))
    p = _probabilities(beta, x)
    best = _threshold(p, y, source, thresholds)
    names = ", ".join(f"{n}={b:.2f}" for n, b in zip(("bias", *FEATURES), beta, strict=True))
    print(f"fitted on all: {names}; threshold {best:.2f}")


def bfcl_summary(
    cases: list[Case],
    routed: list[Outcome],
    untuned: dict[str, list[Case]],
    outcomes: dict[str, list[Outcome]],
) -> None:
    """BFCL's own non-live summary: the unweighted mean of simple (Python, Java and JavaScript
    pooled), multiple, parallel and parallel_multiple; and the six categories pooled."""
    by_category: dict[str, tuple[list[Case], list[Outcome]]] = {
        category: ([], []) for category in (*CATEGORIES, *UNTUNED)
    }
    for case, outcome in zip(cases, routed, strict=True):
        by_category[case.category][0].append(case)
        by_category[case.category][1].append(outcome)
    for category, cases_of in untuned.items():
        by_category[category] = (cases_of, outcomes[category])
    groups = {
        "simple": ("simple_python", "simple_java", "simple_javascript"),
        "multiple": ("multiple",),
        "parallel": ("parallel",),
        "parallel_multiple": ("parallel_multiple",),
    }
    scored = {
        group: score(
            [c for category in members for c in by_category[category][0]],
            [o for category in members for o in by_category[category][1]],
        )
        for group, members in groups.items()
    }

    def share(values: list[bool]) -> float:
        return 100 * sum(values) / len(values)

    print("BFCL-style non-live summary (the Java/JavaScript values checked with Python's rules):")
    for group, result in scored.items():
        print(
            f"  {group:18} name {share(result.name):5.1f}%  full {share(result.full):5.1f}%"
            f"   of {len(result.name)}"
        )
    mean_name = statistics.mean(share(r.name) for r in scored.values())
    mean_full = statistics.mean(share(r.full) for r in scored.values())
    pooled = Scores([], [], [])
    for result in scored.values():
        pooled.name += result.name
        pooled.full += result.full
    print(f"  {'unweighted mean':18} name {mean_name:5.1f}%  full {mean_full:5.1f}%")
    print(
        f"  {'pooled':18} name {share(pooled.name):5.1f}%  full {share(pooled.full):5.1f}%"
        f"   of {len(pooled.name)}"
    )


# A conversation's turns, cycled: todo writes and reads (the username carried over from an
# earlier turn), follow-ups, sports reads, a ranking, a lookup by name, an off-topic message.
TURN_REQUESTS = (
    "add buy milk to alice's list",
    "also add call mom",
    "show alice's list",
    "delete the first one",
    "show the teams of the 2024 season",
    "who won the world series in 2023?",
    "top 3 teams by wins in 2025",
    "hi",
    "show Aaron Judge's batting stats for 2024",
    "what's on alice's todo list?",
)


def _invocations(messages: tuple[ChatMessage, ...]) -> list[list[int]]:
    """For each turn, where the history ended each time the host asked the model."""
    turns: list[list[int]] = []
    for i, message in enumerate(messages):
        if message.role == "user":
            turns.append([i + 1])
        elif message.role == "tool" and turns:
            following = messages[i + 1] if i + 1 < len(messages) else None
            if following is None or following.role != "tool":
                turns[-1].append(i + 1)
    return turns


def _cpu_of_turn(
    router: OfflineRouter,
    messages: tuple[ChatMessage, ...],
    ends: list[int],
    tools: list[ToolSpec],
    repeats: int,
) -> float:
    """Median router CPU time (ms) of one turn: every model step of it, as the host asks."""
    from powerstrip.runtime.offline.scan import scan

    system = ChatMessage("system", "You can call the functions of the plugins below.")
    # The host hands the model a list it built; building it is the host's cost, not timed.
    histories = [[system, *messages[:end]] for end in ends]
    samples = []
    for _ in range(repeats):
        # A new turn brings a new message: the per-message caches start cold.
        scan.cache_clear()
        started = time.thread_time()
        for history in histories:
            router._decide(history, tools)  # what `stream` runs, without the event wrapping
        samples.append((time.thread_time() - started) * 1000)
    return statistics.median(samples)


async def turn_cost(turns: int = 50, repeats: int = 30) -> None:
    """A real conversation of `turns` turns with three examples, then the router replayed on it.

    The example plugins run on loopback and the conversation goes through the host (as
    bench/conversations.py does); its stored history is then replayed through the router at
    turn 1 and at turn `turns`, every model step of the turn, to time the router alone.
    """
    import tempfile

    from conversations import Bench

    from powerstrip.cli.dev_examples import ExampleServers, wire_examples
    from powerstrip.examples import ExampleConfig
    from powerstrip.host import Host
    from powerstrip.runtime.conversation import _TOOL_DESCRIPTION_LIMIT
    from powerstrip.settings import Settings

    names = ("todo-none", "sports", "retrieval")
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        config = ExampleConfig(data_dir=data / "examples")
        servers = ExampleServers(config, 0, names)
        servers.start()
        try:
            settings = Settings(
                dev_mode=True, data_dir=data / "host", public_url="http://127.0.0.1:8000"
            )
            host = await Host.start(settings)
            try:
                wired = await wire_examples(host, servers)
                plugins = {w.name: w.plugin.id for w in wired if w.plugin is not None}
                if len(plugins) != len(names):
                    raise SystemExit(f"examples not wired: {wired}")
                bench = Bench(host, config, plugins)
                await bench.start()
                ids = tuple(plugins.values())
                chat = await host.chats.create(bench.user, title="turns", plugin_ids=ids)
                for number in range(turns):
                    text = TURN_REQUESTS[number % len(TURN_REQUESTS)]
                    await bench.turn(chat.id, text, lambda name, arguments: True)
                view = await host.chats.get(bench.user, chat.id)
                tools = [
                    ToolSpec(t.function_name, t.description[:_TOOL_DESCRIPTION_LIMIT], t.parameters)
                    for pid in ids
                    for t in (await host.registry.tools(pid, revalidate=False)).toolset.tools
                ]
            finally:
                await host.aclose()
        finally:
            servers.close()
    router = OfflineRouter()
    steps = _invocations(view.messages)
    print(
        f"router CPU per turn, {len(names)} plugins / {len(tools)} operations, "
        f"a {len(steps)}-turn conversation of {len(view.messages)} messages "
        f"(median of {repeats}, every model step of the turn):"
    )
    cycle = len(TURN_REQUESTS)
    cost = {}
    for number in (*range(1, cycle + 1), *range(len(steps) - cycle + 1, len(steps) + 1)):
        ends = steps[number - 1]
        _cpu_of_turn(router, view.messages, ends, tools, 3)  # warm the tool-set index
        cost[number] = _cpu_of_turn(router, view.messages, ends, tools, repeats)
    for number in (1, len(steps)):
        ends = steps[number - 1]
        print(
            f"  turn {number:3}: {cost[number]:6.2f} ms CPU, {len(ends)} model steps, "
            f"history {ends[-1]} messages ({view.messages[ends[0] - 1].content!r})"
        )
    first = statistics.mean(cost[n] for n in range(1, cycle + 1))
    last = statistics.mean(cost[n] for n in range(len(steps) - cycle + 1, len(steps) + 1))
    print(
        f"  mean of turns 1-{cycle}: {first:.2f} ms; of turns {len(steps) - cycle + 1}-"
        f"{len(steps)} (the same requests): {last:.2f} ms"
    )


def _shown(calls: Any) -> str:  # Any: calls or BFCL answers
    return "; ".join(
        f"{name}({json.dumps(arguments, ensure_ascii=False)})"
        for call in calls
        for name, arguments in (call.items() if isinstance(call, dict) else [call])
    )


async def failures(category: str) -> None:
    """Every question of `category` the router gets wrong: the question, the expected calls
    (BFCL's accepted values) and the calls made, marked by what failed (name or arguments)."""
    router = OfflineRouter()
    cases = load(category)
    outcomes = [await run_router(router, case) for case in cases]
    wrong = 0
    for case, outcome in zip(cases, outcomes, strict=True):
        if case.category == "irrelevance":
            if outcome.chosen is None:
                continue
        elif passes(case, outcome):
            continue
        wrong += 1
        kind = "args" if case.answers and names_right(case, outcome) else "name"
        print(f"[{kind}] {case.id}: {case.question}")
        print(f"    expected: {_shown(case.answers)}")
        made = _shown(outcome.calls) or (f"asked for {outcome.asked}" if outcome.asked else "-")
        print(f"    made:     {made}")
        if kind == "args" and len(outcome.calls) == len(case.answers) == 1:
            print(f"    why:      {_why(case, outcome)}")
    print(f"{wrong} of {len(cases)} {category} questions failed")


def _why(case: Any, outcome: Any) -> str:  # Any: a BFCL case and the router's outcome
    """The checker's reason a single call's arguments fail."""
    name, arguments = outcome.calls[0]
    function = next((f for f in case.functions if f["name"] == name), None)
    if function is None:
        return "no such function"
    return str(check_call(function, name, python_values(function, arguments), case.answers[0])[1])


async def main() -> None:
    if "--turns" in sys.argv:
        await turn_cost()
        return
    if "--failures" in sys.argv:
        at = sys.argv.index("--failures") + 1
        if at >= len(sys.argv):
            raise SystemExit("--failures needs a category: parallel, simple_python, ...")
        await failures(sys.argv[at])
        return
    cases = [case for category in CATEGORIES for case in load(category)]
    if "--fit" in sys.argv:
        fit(cases)
        return
    router = OfflineRouter()
    routed = [await run_router(router, case) for case in cases]
    baseline = [run_baseline(case) for case in cases]
    print(f"BFCL v4 ({wheel().name}), non-live: {len(cases)} questions")
    print(f"{'':28} {'name acc':>9} {'full call':>10} {'abstention':>11}")
    for label, outcomes in (("plain BM25 (top tool)", baseline), ("offline router", routed)):
        name_acc, full, abstain = score(cases, outcomes).row()
        print(f"{label:28} {name_acc:>9} {full:>10} {abstain:>11}")
    for category in CATEGORIES[:2]:
        part = [i for i, c in enumerate(cases) if c.category == category]
        for label, outcomes in (("  BM25", baseline), ("  router", routed)):
            sub = score([cases[i] for i in part], [outcomes[i] for i in part])
            name_acc, full, _ = sub.row()
            print(f"{label + ' / ' + category:28} {name_acc:>9} {full:>10}")
    untuned = {category: load(category) for category in UNTUNED}
    outcomes = {
        category: [await run_router(router, case) for case in cases_of]
        for category, cases_of in untuned.items()
    }
    print("not tuned on (name: every expected operation called, no other; full: BFCL's rule):")
    for category, cases_of in untuned.items():
        name_acc, full, _ = score(cases_of, outcomes[category]).row()
        print(f"  router / {category:18} {name_acc:>9} {full:>10}   of {len(cases_of)}")
    bfcl_summary(cases, routed, untuned, outcomes)
    for total in () if "--no-latency" in sys.argv else (30, 90):
        cold, p50, p99 = await latency(router, total)
        print(
            f"latency, 3 plugins / {total} operations: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
            f"per turn (first turn, building the index: {cold:.1f} ms)"
        )


if __name__ == "__main__":
    asyncio.run(main())
