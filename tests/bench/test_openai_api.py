"""`bench/openai_api.py` stays runnable: it imports, and its figures are computed right.

The bench starts a host process and sends thousands of requests, so the suite does not run it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).parents[2] / "bench" / "openai_api.py"


def load() -> ModuleType:
    if "bench_openai_api" in sys.modules:
        return sys.modules["bench_openai_api"]
    spec = importlib.util.spec_from_file_location("bench_openai_api", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_openai_api"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_bench_imports_and_computes_percentiles() -> None:
    bench = load()
    values = [float(n) for n in range(1, 101)]
    assert bench.percentile(values, 0.5) == 51.0
    assert bench.percentile(values, 0.99) == 99.0
    timings = bench.Timings(ttft=[0.01, 0.02], total=[0.02, 0.04])
    assert "p50 ratio TTFT 1.00x total 1.00x" in bench.line("via /v1", timings, timings)
