"""`bench/turns.py` stays runnable: it imports, its figures are computed right, `--help` works.

The bench itself starts three processes and runs for minutes, so the suite does not run it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).parents[2] / "bench" / "turns.py"


def load() -> ModuleType:
    if "bench_turns" in sys.modules:
        return sys.modules["bench_turns"]
    spec = importlib.util.spec_from_file_location("bench_turns", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_turns"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_bench_imports_and_computes_percentiles() -> None:
    bench = load()
    values = [float(n) for n in range(1, 101)]
    assert bench.percentile(values, 0.5) == 51.0
    assert bench.percentile(values, 0.99) == 99.0
    assert bench.percentile([3.0], 0.99) == 3.0


def test_the_bench_reads_a_process_cpu_time() -> None:
    bench = load()
    sum(n * n for n in range(200_000))  # some CPU of our own to see
    assert bench.cpu_seconds(os.getpid()) > 0


def test_the_bench_describes_its_options() -> None:
    shown = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(BENCH), "--help"], capture_output=True, text=True, check=True
    )
    for option in ("--turns", "--seconds", "--users", "--postgres-url"):
        assert option in shown.stdout
