"""The `sports` example's data: Lahman baseball CSVs (2023-2025), read once into memory.

The CSVs ship in `data/` beside this module (built by `scripts/build_sports_data.py`; CC BY-SA
3.0, see `data/LICENSE-DATA.md`). Everything here is read-only after loading.
"""

from __future__ import annotations

import csv
import functools
import io
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources

__all__ = ["Person", "SeriesRow", "SportsData", "StatRow", "TeamRow", "fold", "load_data"]

_KEYS = ("playerID", "yearID", "stint", "teamID", "lgID")


def fold(text: str) -> str:
    """`text` lower-cased and without accents, for searching names ("Acuña" ~ "acuna")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _int(value: str) -> int | None:
    return int(value) if value else None


def _text(value: str) -> str | None:
    return value or None


@dataclass(frozen=True, slots=True)
class Person:
    player_id: str
    first_name: str
    last_name: str
    birth_date: str | None
    birth_country: str | None
    bats: str | None
    throws: str | None
    debut: str | None
    final_game: str | None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True, slots=True)
class StatRow:
    """One Batting or Pitching line: a player's stint with one team in one season."""

    player_id: str
    season: int
    stint: int
    team_id: str
    league: str
    counts: Mapping[str, int]  # Lahman column -> value (G, AB, H, IPOuts, ...)


@dataclass(frozen=True, slots=True)
class TeamRow:
    season: int
    league: str
    team_id: str
    franchise_id: str
    division: str | None
    rank: int | None
    games: int
    wins: int
    losses: int
    division_winner: bool
    wild_card_winner: bool
    league_champion: bool
    world_series_winner: bool
    runs_scored: int
    runs_allowed: int
    home_runs: int
    era: float
    name: str
    park: str | None
    attendance: int | None


@dataclass(frozen=True, slots=True)
class SeriesRow:
    season: int
    round: str
    winner_id: str
    winner_league: str
    loser_id: str
    loser_league: str
    wins: int
    losses: int
    ties: int


@dataclass(frozen=True)  # not slotted: cached_property needs the instance's __dict__
class SportsData:
    people: Mapping[str, Person]
    teams: tuple[TeamRow, ...]
    franchises: Mapping[str, str]  # franchID -> franchise name
    batting: tuple[StatRow, ...]
    pitching: tuple[StatRow, ...]
    series: tuple[SeriesRow, ...]

    @functools.cached_property
    def seasons(self) -> tuple[int, ...]:
        return tuple(sorted({team.season for team in self.teams}))

    @functools.cached_property
    def stints(self) -> Mapping[str, tuple[tuple[int, str, str], ...]]:
        """playerID -> the (season, teamID, league) they played for, in order."""
        found: dict[str, set[tuple[int, int, str, str]]] = {}
        for row in (*self.batting, *self.pitching):
            found.setdefault(row.player_id, set()).add(
                (row.season, row.stint, row.team_id, row.league)
            )
        return {
            player: tuple((season, team, league) for season, _, team, league in sorted(rows))
            for player, rows in found.items()
        }

    @functools.cached_property
    def team_names(self) -> Mapping[tuple[int, str], str]:
        return {(team.season, team.team_id): team.name for team in self.teams}


def _rows(name: str) -> Iterator[dict[str, str]]:
    text = (resources.files(__package__) / "data" / f"{name}.csv").read_text(encoding="utf-8")
    yield from csv.DictReader(io.StringIO(text))


def _stats(name: str) -> tuple[StatRow, ...]:
    return tuple(
        StatRow(
            player_id=row["playerID"],
            season=int(row["yearID"]),
            stint=int(row["stint"]),
            team_id=row["teamID"],
            league=row["lgID"],
            counts={key: int(value or 0) for key, value in row.items() if key not in _KEYS},
        )
        for row in _rows(name)
    )


@functools.cache
def load_data() -> SportsData:
    """The bundled data, read once per process (it never changes)."""
    people = {
        row["playerID"]: Person(
            player_id=row["playerID"],
            first_name=row["nameFirst"],
            last_name=row["nameLast"],
            birth_date=(
                f"{row['birthYear']}-{int(row['birthMonth']):02d}-{int(row['birthDay']):02d}"
                if row["birthYear"] and row["birthMonth"] and row["birthDay"]
                else None
            ),
            birth_country=_text(row["birthCountry"]),
            bats=_text(row["bats"]),
            throws=_text(row["throws"]),
            debut=_text(row["debut"]),
            final_game=_text(row["finalGame"]),
        )
        for row in _rows("people")
    }
    teams = tuple(
        TeamRow(
            season=int(row["yearID"]),
            league=row["lgID"],
            team_id=row["teamID"],
            franchise_id=row["franchID"],
            division=_text(row["divID"]),
            rank=_int(row["Rank"]),
            games=int(row["G"]),
            wins=int(row["W"]),
            losses=int(row["L"]),
            division_winner=row["DivWin"] == "Y",
            wild_card_winner=row["WCWin"] == "Y",
            league_champion=row["LgWin"] == "Y",
            world_series_winner=row["WSWin"] == "Y",
            runs_scored=int(row["R"]),
            runs_allowed=int(row["RA"]),
            home_runs=int(row["HR"]),
            era=float(row["ERA"]),
            name=row["name"],
            park=_text(row["park"]),
            attendance=_int(row["attendance"]),
        )
        for row in _rows("teams")
    )
    series = tuple(
        SeriesRow(
            season=int(row["yearID"]),
            round=row["round"],
            winner_id=row["teamIDwinner"],
            winner_league=row["lgIDwinner"],
            loser_id=row["teamIDloser"],
            loser_league=row["lgIDloser"],
            wins=int(row["wins"]),
            losses=int(row["losses"]),
            ties=int(row["ties"] or 0),
        )
        for row in _rows("seriespost")
    )
    return SportsData(
        people=people,
        teams=teams,
        franchises={row["franchID"]: row["franchName"] for row in _rows("franchises")},
        batting=_stats("batting"),
        pitching=_stats("pitching"),
        series=series,
    )
