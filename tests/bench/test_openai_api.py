"""`bench/openai_api.py` stays runnable: a tiny run prints both paths at each concurrency."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench" / "openai_api.py"


def test_a_tiny_run_prints_both_paths() -> None:
    done = subprocess.run(  # noqa: S603
        [sys.executable, str(BENCH), "--requests", "3", "--concurrency", "1,2"],
        capture_output=True,
        text=True,
        timeout=110,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "streamed chat completions, 3 requests each"
    assert sum(line.startswith("  via /v1") for line in lines) == 2
    assert all("errors 0" in line for line in lines if line.startswith("  "))
