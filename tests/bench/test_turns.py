"""`bench/turns.py` stays runnable: it imports, its figures are computed right, `--help` works.

The bench itself starts three processes and runs for minutes, so the suite does not run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from types import ModuleType

from tests.bench.loader import BENCH_DIR, load_bench

BENCH = BENCH_DIR / "turns.py"


def load() -> ModuleType:
    return load_bench("turns")


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
