"""`bench/sqlite_driver.py` runs and prints both drivers' figures (a tiny run: it is quick)."""

from __future__ import annotations

import subprocess
import sys

from tests.bench.loader import BENCH_DIR


def test_the_bench_prints_both_drivers_and_the_trips_per_statement() -> None:
    shown = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(BENCH_DIR / "sqlite_driver.py"), "--statements", "60", "--rounds=1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    lines = shown.stdout.splitlines()
    assert any(line.startswith("powerstrip (one trip)") for line in lines), shown.stdout
    assert any(line.startswith("aiosqlite") for line in lines), shown.stdout
    [trips] = [line for line in lines if "trips to SQLite's thread per statement" in line]
    # One trip a statement and one a commit, with the table's creation and the connections'
    # pragmas on top in so short a run; aiosqlite makes four a statement.
    assert float(trips.rsplit(" ", 1)[1]) < 1.5
