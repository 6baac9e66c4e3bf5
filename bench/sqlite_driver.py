"""SQLite through SQLAlchemy: Powerstrip's one-trip driver beside aiosqlite's, per statement.

The same engine settings, the same statements (a keyed select, and inserts in write
transactions), once through `store/sqlite_thread.py` (what `create_engine` uses) and once
through aiosqlite as SQLAlchemy's dialect drives it by default. Prints the process's CPU time
and the wall time per statement, and the trips to SQLite's thread per statement for ours.

    .venv/bin/python bench/sqlite_driver.py [--statements 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import create_async_engine as plain_engine

from powerstrip.store.engine import create_engine
from powerstrip.store.sqlite_thread import ThreadedConnection

_METADATA = MetaData()
_ROWS = Table(
    "rows", _METADATA, Column("id", Integer, primary_key=True), Column("text", String(40))
)
_INSERT = insert(_ROWS)
_SELECT = select(_ROWS.c.id, _ROWS.c.text).where(_ROWS.c.id == bindparam("id"))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(engine: AsyncEngine, statements: int) -> tuple[float, float]:
    """CPU and wall seconds per statement: selects on one connection, then one insert per
    write transaction (a tenth as many)."""
    async with engine.begin() as connection:
        await connection.run_sync(_METADATA.create_all)
    writes = statements // 10
    cpu, wall = cpu_seconds(), time.perf_counter()
    async with engine.connect() as connection:
        for number in range(statements):
            (await connection.execute(_SELECT, {"id": number})).all()
    for _ in range(writes):
        async with engine.begin() as connection:
            await connection.execute(_INSERT, {"text": "a row"})
    count = statements + writes
    return (cpu_seconds() - cpu) / count, (time.perf_counter() - wall) / count


async def main(args: argparse.Namespace) -> None:
    trips = 0
    run = ThreadedConnection._run

    def counted(connection: ThreadedConnection, function: Any) -> Any:
        nonlocal trips
        trips += 1
        return run(connection, function)

    ThreadedConnection._run = counted  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as folder:
        print(f"{args.statements} selects and {args.statements // 10} write transactions each")
        print(f"{'driver':<34}{'CPU µs/statement':>18}{'wall µs/statement':>19}")
        for name in ("powerstrip (one trip)", "aiosqlite (SQLAlchemy's default)"):
            path = Path(folder) / f"{name.split()[0]}.sqlite"
            if name.startswith("powerstrip"):
                engine = create_engine(f"sqlite+aiosqlite:///{path}")
            else:
                engine = plain_engine(f"sqlite+aiosqlite:///{path}")
            for _ in range(args.rounds):
                trips = 0
                cpu, wall = await measure(engine, args.statements)
                print(f"{name:<34}{cpu * 1e6:>18.0f}{wall * 1e6:>19.0f}")
            if name.startswith("powerstrip"):
                per = trips / (args.statements + args.statements // 10)
                print(f"  trips to SQLite's thread per statement: {per:.2f}")
            await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    asyncio.run(main(parser.parse_args()))
