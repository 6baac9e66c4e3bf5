"""`bench/turn_floor.py` measures every part of a real turn and their sum (a short run)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.bench.loader import BENCH_DIR


# Ten turns, but the bench first sets up a store and the example plugin and warms each part
# up: on a loaded machine that took longer than the suite's 120 s default.
@pytest.mark.timeout(300)
def test_the_bench_prints_each_floor_the_sum_and_the_whole_turn() -> None:
    shown = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(BENCH_DIR / "turn_floor.py"), "--turns", "10"],
        capture_output=True,
        text=True,
        check=True,
        timeout=280,
    )
    figures = {
        match[1].strip(): float(match[2])
        for match in re.finditer(r"^  (.+?)\s+([\d.]+) ms$", shown.stdout, re.MULTILINE)
    }
    assert len(figures) == 9, shown.stdout
    statements = next(name for name in figures if name.startswith("the turn's"))
    # The statements were captured from a real turn: the reads, the messages and the call.
    assert int(statements.split()[2]) >= 10, statements
    parts = [value for name, value in figures.items() if "SQLAlchemy" not in name][:4]
    assert (
        figures["sum of the floors (sqlite3 alone)"] == round(sum(parts), 2)
        or abs(figures["sum of the floors (sqlite3 alone)"] - sum(parts)) < 0.02
    )
    assert figures["budget for 150 turns/s in one process"] == 6.67
    assert all(value > 0 for value in figures.values()), shown.stdout
