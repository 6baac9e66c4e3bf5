"""`sports`: MLB players, teams, season stats and postseason series, read-only, no auth.

Modelled on the original platform's sports-stats example, on the Lahman baseball database
(2023-2025, bundled as CSV). Every list answers `{"data": [...], "meta": {"total", "returned"}}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Literal, TypeVar

from fastapi import FastAPI, Query

from powerstrip.examples.config import ExampleConfig
from powerstrip.examples.sports.data import (
    SeriesRow,
    SportsData,
    StatRow,
    TeamRow,
    fold,
    load_data,
)
from powerstrip.examples.sports.models import (
    BattingAverages,
    BattingTotals,
    Meta,
    PitchingAverages,
    PitchingTotals,
    Player,
    PlayerList,
    PlayerTeam,
    SeasonAverages,
    SeasonAveragesList,
    Series,
    SeriesList,
    StatLine,
    StatLineList,
    Team,
    TeamList,
)
from powerstrip.sdk import NoAuth, Plugin

__all__ = ["build_sports"]

T = TypeVar("T")

DESCRIPTION_FOR_MODEL = (
    "Major League Baseball statistics for the regular seasons 2023, 2024 and 2025, from the "
    "Lahman baseball database: players, teams with their records, season batting and pitching "
    "totals per player and team, per-game season averages with AVG, OBP, SLG, ERA and WHIP, "
    "and postseason series results (the only game-level results available; there are no box "
    "scores or single games). Players are identified by a Lahman playerID such as judgeaa01 "
    "(Aaron Judge): search players by name first to find it. Teams are identified by a Lahman "
    "teamID such as NYA (New York Yankees), LAN (Los Angeles Dodgers) or ATH (Athletics), "
    "which can differ from common abbreviations: list teams to find them. Leagues are AL and "
    "NL. Every list takes a limit (default 25, at most 100) and returns data and meta.total, "
    "the number of matches. Present several results as a markdown table. Data: Lahman "
    "Baseball Database by SABR, CC BY-SA 3.0."
)

Limit = Annotated[int, Query(ge=1, le=100, description="At most this many results (1-100).")]
Seasons = Annotated[
    list[int] | None,
    Query(description="Only these seasons (2023, 2024, 2025); repeat for several."),
]
TeamIds = Annotated[
    list[str] | None,
    Query(description="Only these Lahman teamIDs, e.g. NYA; repeat for several."),
]
PlayerIds = Annotated[
    list[str] | None,
    Query(description="Only these Lahman playerIDs, e.g. judgeaa01; repeat for several."),
]
League = Literal["AL", "NL"]
_LineKey = tuple[str, int, int, str, str]  # playerID, season, stint, teamID, league

_ROUND_ORDER = {"WC": 0, "DS": 1, "CS": 2, "WS": 3}


def _round_rank(code: str) -> int:
    """Wild card, division series, championship series, World Series."""
    return _ROUND_ORDER.get(code.rstrip("0123456789")[-2:], len(_ROUND_ORDER))


def _page(items: Sequence[T], limit: int) -> tuple[list[T], Meta]:
    page = list(items[:limit])
    return page, Meta(total=len(items), returned=len(page))


def _upper(values: Iterable[str] | None) -> set[str] | None:
    return {value.strip().upper() for value in values} if values else None


def _lower(values: Iterable[str] | None) -> set[str] | None:
    return {value.strip().lower() for value in values} if values else None


def _per_game(total: int, games: int) -> float:
    return round(total / games, 3) if games else 0.0


def _ratio(numerator: float, denominator: float, digits: int) -> float | None:
    return round(numerator / denominator, digits) if denominator else None


def _sum(rows: Iterable[StatRow]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for row in rows:
        for key, value in row.counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals


def batting_averages(c: Mapping[str, int]) -> BattingAverages:
    """Per-game averages and AVG/OBP/SLG from summed Lahman batting columns."""
    games = c["G"]
    total_bases = c["H"] + c["2B"] + 2 * c["3B"] + 3 * c["HR"]
    return BattingAverages(
        games=games,
        at_bats=_per_game(c["AB"], games),
        runs=_per_game(c["R"], games),
        hits=_per_game(c["H"], games),
        doubles=_per_game(c["2B"], games),
        triples=_per_game(c["3B"], games),
        home_runs=_per_game(c["HR"], games),
        runs_batted_in=_per_game(c["RBI"], games),
        stolen_bases=_per_game(c["SB"], games),
        walks=_per_game(c["BB"], games),
        strikeouts=_per_game(c["SO"], games),
        avg=_ratio(c["H"], c["AB"], 3),
        obp=_ratio(c["H"] + c["BB"] + c["HBP"], c["AB"] + c["BB"] + c["HBP"] + c["SF"], 3),
        slg=_ratio(total_bases, c["AB"], 3),
    )


def pitching_averages(c: Mapping[str, int]) -> PitchingAverages:
    """Per-game averages and ERA/WHIP from summed Lahman pitching columns."""
    games = c["G"]
    innings = c["IPOuts"] / 3
    return PitchingAverages(
        games=games,
        games_started=c["GS"],
        innings_pitched=round(innings / games, 3) if games else 0.0,
        hits_allowed=_per_game(c["H"], games),
        runs_allowed=_per_game(c["R"], games),
        earned_runs=_per_game(c["ER"], games),
        walks=_per_game(c["BB"], games),
        strikeouts=_per_game(c["SO"], games),
        home_runs_allowed=_per_game(c["HR"], games),
        era=_ratio(9 * c["ER"], innings, 2),
        whip=_ratio(c["BB"] + c["H"], innings, 2),
    )


def _batting_totals(c: Mapping[str, int]) -> BattingTotals:
    return BattingTotals(
        games=c["G"],
        at_bats=c["AB"],
        runs=c["R"],
        hits=c["H"],
        doubles=c["2B"],
        triples=c["3B"],
        home_runs=c["HR"],
        runs_batted_in=c["RBI"],
        stolen_bases=c["SB"],
        caught_stealing=c["CS"],
        walks=c["BB"],
        strikeouts=c["SO"],
        intentional_walks=c["IBB"],
        hit_by_pitch=c["HBP"],
        sacrifice_hits=c["SH"],
        sacrifice_flies=c["SF"],
        grounded_into_double_plays=c["GIDP"],
    )


def _pitching_totals(c: Mapping[str, int]) -> PitchingTotals:
    outs = c["IPOuts"]
    return PitchingTotals(
        games=c["G"],
        games_started=c["GS"],
        wins=c["W"],
        losses=c["L"],
        saves=c["SV"],
        complete_games=c["CG"],
        shutouts=c["SHO"],
        innings_pitched=f"{outs // 3}.{outs % 3}",
        outs_pitched=outs,
        batters_faced=c["BFP"],
        hits_allowed=c["H"],
        runs_allowed=c["R"],
        earned_runs=c["ER"],
        home_runs_allowed=c["HR"],
        walks=c["BB"],
        intentional_walks=c["IBB"],
        strikeouts=c["SO"],
        hit_batters=c["HBP"],
        wild_pitches=c["WP"],
    )


def _batted(c: Mapping[str, int]) -> bool:
    return c["AB"] + c["BB"] + c["HBP"] + c["SH"] + c["SF"] > 0


class SportsService:
    """The queries behind the operations, over the in-memory data."""

    def __init__(self, data: SportsData) -> None:
        self.data = data

    def _name(self, player_id: str) -> str:
        person = self.data.people.get(player_id)
        return person.full_name if person else player_id

    def _name_key(self, player_id: str) -> tuple[str, str, str]:
        person = self.data.people.get(player_id)
        if person is None:
            return ("", "", player_id)
        return (fold(person.last_name), fold(person.first_name), player_id)

    def _stat_rows(
        self,
        rows: Iterable[StatRow],
        seasons: set[int] | None,
        team_ids: set[str] | None,
        player_ids: set[str] | None,
    ) -> Iterable[StatRow]:
        return (
            row
            for row in rows
            if (seasons is None or row.season in seasons)
            and (team_ids is None or row.team_id in team_ids)
            and (player_ids is None or row.player_id in player_ids)
        )

    def players(
        self,
        search: str | None,
        seasons: list[int] | None,
        team_ids: list[str] | None,
        player_ids: list[str] | None,
        limit: int,
    ) -> PlayerList:
        words = fold(search).split() if search else []
        wanted_seasons = set(seasons) if seasons else None
        wanted_teams = _upper(team_ids)
        wanted_players = _lower(player_ids)
        found: list[Player] = []
        for person in self.data.people.values():
            if wanted_players is not None and person.player_id not in wanted_players:
                continue
            name = fold(person.full_name)
            if any(word not in name for word in words):
                continue
            stints = self.data.stints.get(person.player_id, ())
            if (wanted_seasons or wanted_teams) and not any(
                (wanted_seasons is None or season in wanted_seasons)
                and (wanted_teams is None or team in wanted_teams)
                for season, team, _ in stints
            ):
                continue
            found.append(
                Player(
                    id=person.player_id,
                    first_name=person.first_name,
                    last_name=person.last_name,
                    full_name=person.full_name,
                    birth_date=person.birth_date,
                    birth_country=person.birth_country,
                    bats=person.bats,
                    throws=person.throws,
                    debut=person.debut,
                    final_game=person.final_game,
                    teams=[
                        PlayerTeam(season=season, team_id=team, league=league)
                        for season, team, league in stints
                    ],
                )
            )
        found.sort(key=lambda player: self._name_key(player.id))
        data, meta = _page(found, limit)
        return PlayerList(data=data, meta=meta)

    def _team(self, row: TeamRow) -> Team:
        return Team(
            id=row.team_id,
            season=row.season,
            name=row.name,
            league=row.league,
            division=row.division,
            division_rank=row.rank,
            franchise_id=row.franchise_id,
            franchise_name=self.data.franchises.get(row.franchise_id),
            park=row.park,
            games=row.games,
            wins=row.wins,
            losses=row.losses,
            division_winner=row.division_winner,
            wild_card_winner=row.wild_card_winner,
            league_champion=row.league_champion,
            world_series_winner=row.world_series_winner,
            runs_scored=row.runs_scored,
            runs_allowed=row.runs_allowed,
            home_runs=row.home_runs,
            era=row.era,
            attendance=row.attendance,
        )

    def teams(
        self, season: int | None, team_ids: list[str] | None, league: str | None, limit: int
    ) -> TeamList:
        wanted = _upper(team_ids)
        found = [
            self._team(row)
            for row in self.data.teams
            if (season is None or row.season == season)
            and (wanted is None or row.team_id in wanted)
            and (league is None or row.league == league)
        ]
        found.sort(key=lambda team: (team.season, team.id))
        data, meta = _page(found, limit)
        return TeamList(data=data, meta=meta)

    def season_averages(
        self, season: int, player_ids: list[str] | None, limit: int
    ) -> SeasonAveragesList:
        wanted = _lower(player_ids)
        seasons = {season}
        batting: dict[str, list[StatRow]] = {}
        pitching: dict[str, list[StatRow]] = {}
        for row in self._stat_rows(self.data.batting, seasons, None, wanted):
            batting.setdefault(row.player_id, []).append(row)
        for row in self._stat_rows(self.data.pitching, seasons, None, wanted):
            pitching.setdefault(row.player_id, []).append(row)
        found: list[SeasonAverages] = []
        for player_id in sorted(batting.keys() | pitching.keys(), key=self._name_key):
            bat = _sum(batting.get(player_id, ()))
            pitch = _sum(pitching.get(player_id, ()))
            teams = [team for s, team, _ in self.data.stints.get(player_id, ()) if s == season]
            found.append(
                SeasonAverages(
                    player_id=player_id,
                    player_name=self._name(player_id),
                    season=season,
                    team_ids=list(dict.fromkeys(teams)),
                    batting=batting_averages(bat) if bat and _batted(bat) else None,
                    pitching=pitching_averages(pitch) if pitch else None,
                )
            )
        data, meta = _page(found, limit)
        return SeasonAveragesList(data=data, meta=meta)

    def stats(
        self,
        seasons: list[int] | None,
        team_ids: list[str] | None,
        player_ids: list[str] | None,
        limit: int,
    ) -> StatLineList:
        wanted = (set(seasons) if seasons else None, _upper(team_ids), _lower(player_ids))
        batting: dict[_LineKey, StatRow] = {}
        pitching: dict[_LineKey, StatRow] = {}
        for table, rows in ((batting, self.data.batting), (pitching, self.data.pitching)):
            for row in self._stat_rows(rows, *wanted):
                table[(row.player_id, row.season, row.stint, row.team_id, row.league)] = row
        keys = sorted(
            batting.keys() | pitching.keys(),
            key=lambda k: (k[1], *self._name_key(k[0]), k[2]),
        )
        found: list[StatLine] = []
        for key in keys:
            bat, pitch = batting.get(key), pitching.get(key)
            player_id, season, stint, team_id, league = key
            found.append(
                StatLine(
                    player_id=player_id,
                    player_name=self._name(player_id),
                    season=season,
                    stint=stint,
                    team_id=team_id,
                    league=league,
                    batting=_batting_totals(bat.counts) if bat and _batted(bat.counts) else None,
                    pitching=_pitching_totals(pitch.counts) if pitch else None,
                )
            )
        data, meta = _page(found, limit)
        return StatLineList(data=data, meta=meta)

    def _series(self, row: SeriesRow) -> Series:
        names = self.data.team_names
        return Series(
            season=row.season,
            round=row.round,
            winner_team_id=row.winner_id,
            winner_name=names.get((row.season, row.winner_id)),
            winner_league=row.winner_league,
            loser_team_id=row.loser_id,
            loser_name=names.get((row.season, row.loser_id)),
            loser_league=row.loser_league,
            wins=row.wins,
            losses=row.losses,
            ties=row.ties,
        )

    def series(
        self, season: int | None, team_id: str | None, round_: str | None, limit: int
    ) -> SeriesList:
        team = team_id.strip().upper() if team_id else None
        wanted = round_.strip().upper() if round_ else None

        def matches_round(code: str) -> bool:
            # "ALDS" matches ALDS1 and ALDS2; "WS" matches WS.
            return (
                wanted is None
                or code == wanted
                or (code.startswith(wanted) and code[len(wanted) :].isdigit())
            )

        found = [
            self._series(row)
            for row in self.data.series
            if (season is None or row.season == season)
            and (team is None or team in (row.winner_id, row.loser_id))
            and matches_round(row.round)
        ]
        found.sort(key=lambda s: (s.season, _round_rank(s.round), s.round))
        data, meta = _page(found, limit)
        return SeriesList(data=data, meta=meta)


def add_sports_operations(plugin: Plugin, service: SportsService) -> None:
    """Register the five read-only operations."""

    @plugin.get("/players", consequential=False)
    def list_players(
        search: Annotated[
            str | None,
            Query(max_length=100, description="Words of the player's name, e.g. aaron judge."),
        ] = None,
        seasons: Seasons = None,
        team_ids: TeamIds = None,
        player_ids: PlayerIds = None,
        limit: Limit = 25,
    ) -> PlayerList:
        """Find players by name, season, team or id, with the teams they played for."""
        return service.players(search, seasons, team_ids, player_ids, limit)

    @plugin.get("/teams", consequential=False)
    def list_teams(
        season: Annotated[int | None, Query(description="Only this season.")] = None,
        team_ids: TeamIds = None,
        league: Annotated[League | None, Query(description="Only this league.")] = None,
        limit: Limit = 25,
    ) -> TeamList:
        """List teams' regular seasons: record, division rank, titles, runs, ERA."""
        return service.teams(season, team_ids, league, limit)

    @plugin.get("/season_averages", consequential=False)
    def get_season_averages(
        season: Annotated[int, Query(description="The season, e.g. 2024.")],
        player_ids: PlayerIds = None,
        limit: Limit = 25,
    ) -> SeasonAveragesList:
        """Players' per-game batting and pitching averages for one season.

        Season totals divided by games, all teams together, with AVG, OBP, SLG, ERA and WHIP.
        """
        return service.season_averages(season, player_ids, limit)

    @plugin.get("/stats", consequential=False)
    def list_stats(
        seasons: Seasons = None,
        team_ids: TeamIds = None,
        player_ids: PlayerIds = None,
        limit: Limit = 25,
    ) -> StatLineList:
        """Season batting and pitching totals per player, one line per team played for."""
        return service.stats(seasons, team_ids, player_ids, limit)

    @plugin.get("/series", consequential=False)
    def list_series(
        season: Annotated[int | None, Query(description="Only this season.")] = None,
        team_id: Annotated[
            str | None, Query(max_length=8, description="Only series this Lahman teamID played.")
        ] = None,
        round: Annotated[
            str | None,
            Query(
                max_length=8,
                description="WS, ALCS, NLCS, ALDS, NLDS, ALWC or NLWC (or ALDS1...).",
            ),
        ] = None,
        limit: Limit = 25,
    ) -> SeriesList:
        """Postseason series results: who beat whom, in which round, by how many games.

        These are the only game-level results in the data; there are no box scores.
        """
        return service.series(season, team_id, round, limit)


def build_sports(config: ExampleConfig) -> FastAPI:
    """`sports`: MLB statistics 2023-2025 from the Lahman database, no auth."""
    plugin = Plugin(
        name_for_model="sports",
        name_for_human="Sports Stats",
        description_for_model=DESCRIPTION_FOR_MODEL,
        description_for_human="MLB players, teams, season stats and playoff series, 2023-2025.",
        contact_email=config.contact_email,
        auth=NoAuth(),
        rate_limit=config.rate_limit,
        host_origins=config.host_origins,
        legal_text=(
            "Data: the Lahman Baseball Database, Copyright 1996-2015 by Sean Lahman, maintained "
            "by SABR, licensed under CC BY-SA 3.0 (creativecommons.org/licenses/by-sa/3.0/)."
        ),
    )
    add_sports_operations(plugin, SportsService(load_data()))
    return plugin.app()
