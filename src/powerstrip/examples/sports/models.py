"""The sports plugin's response bodies, as the model sees them in the OpenAPI."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "BattingAverages",
    "BattingTotals",
    "Meta",
    "PitchingAverages",
    "PitchingTotals",
    "Player",
    "PlayerList",
    "PlayerTeam",
    "SeasonAverages",
    "SeasonAveragesList",
    "Series",
    "SeriesList",
    "StatLine",
    "StatLineList",
    "Team",
    "TeamList",
]


class Meta(BaseModel):
    """How many results matched and how many are in this answer."""

    total: int = Field(description="How many results matched the filters.")
    returned: int = Field(description="How many are in `data` (at most `limit`).")


class PlayerTeam(BaseModel):
    """A team a player played for in a season."""

    season: int
    team_id: str = Field(description="Lahman teamID, e.g. NYA.")
    league: str = Field(description="AL or NL.")


class Player(BaseModel):
    """A player who played in MLB in one of the seasons served."""

    id: str = Field(description="Lahman playerID, e.g. judgeaa01.")
    first_name: str
    last_name: str
    full_name: str
    birth_date: str | None = Field(description="YYYY-MM-DD.")
    birth_country: str | None
    bats: str | None = Field(description="L, R or B (both).")
    throws: str | None = Field(description="L or R.")
    debut: str | None = Field(description="Date of the first MLB game, YYYY-MM-DD.")
    final_game: str | None = Field(description="Date of the last MLB game if retired.")
    teams: list[PlayerTeam] = Field(description="Teams played for in the seasons served.")


class PlayerList(BaseModel):
    data: list[Player]
    meta: Meta


class Team(BaseModel):
    """A team's regular season."""

    id: str = Field(description="Lahman teamID, e.g. NYA (New York Yankees).")
    season: int
    name: str
    league: str = Field(description="AL or NL.")
    division: str | None = Field(description="E, C or W.")
    division_rank: int | None
    franchise_id: str
    franchise_name: str | None
    park: str | None
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
    era: float = Field(description="Team earned run average.")
    attendance: int | None


class TeamList(BaseModel):
    data: list[Team]
    meta: Meta


class BattingAverages(BaseModel):
    """Batting per game (total ÷ games) and rate stats; a rate is null without its divisor."""

    games: int
    at_bats: float
    runs: float
    hits: float
    doubles: float
    triples: float
    home_runs: float
    runs_batted_in: float
    stolen_bases: float
    walks: float
    strikeouts: float
    avg: float | None = Field(description="Batting average H/AB.")
    obp: float | None = Field(description="On-base percentage (H+BB+HBP)/(AB+BB+HBP+SF).")
    slg: float | None = Field(description="Slugging percentage, total bases/AB.")


class PitchingAverages(BaseModel):
    """Pitching per game (total ÷ games) and rate stats; a rate is null without innings."""

    games: int
    games_started: int
    innings_pitched: float = Field(description="Innings per game, as a decimal.")
    hits_allowed: float
    runs_allowed: float
    earned_runs: float
    walks: float
    strikeouts: float
    home_runs_allowed: float
    era: float | None = Field(description="Earned run average, 9*ER/IP.")
    whip: float | None = Field(description="Walks plus hits per inning, (BB+H)/IP.")


class SeasonAverages(BaseModel):
    """A player's averages over a whole season (all teams together)."""

    player_id: str
    player_name: str
    season: int
    team_ids: list[str]
    batting: BattingAverages | None = Field(description="Null if the player never batted.")
    pitching: PitchingAverages | None = Field(description="Null if the player never pitched.")


class SeasonAveragesList(BaseModel):
    data: list[SeasonAverages]
    meta: Meta


class BattingTotals(BaseModel):
    """Batting totals."""

    games: int
    at_bats: int
    runs: int
    hits: int
    doubles: int
    triples: int
    home_runs: int
    runs_batted_in: int
    stolen_bases: int
    caught_stealing: int
    walks: int
    strikeouts: int
    intentional_walks: int
    hit_by_pitch: int
    sacrifice_hits: int
    sacrifice_flies: int
    grounded_into_double_plays: int


class PitchingTotals(BaseModel):
    """Pitching totals."""

    games: int
    games_started: int
    wins: int
    losses: int
    saves: int
    complete_games: int
    shutouts: int
    innings_pitched: str = Field(description="Baseball notation: 180.1 is 180 and 1/3 innings.")
    outs_pitched: int
    batters_faced: int
    hits_allowed: int
    runs_allowed: int
    earned_runs: int
    home_runs_allowed: int
    walks: int
    intentional_walks: int
    strikeouts: int
    hit_batters: int
    wild_pitches: int


class StatLine(BaseModel):
    """A player's season totals with one team (a traded player has a line per team)."""

    player_id: str
    player_name: str
    season: int
    stint: int = Field(description="1 for the first team of the season, 2 for the next...")
    team_id: str
    league: str
    batting: BattingTotals | None
    pitching: PitchingTotals | None


class StatLineList(BaseModel):
    data: list[StatLine]
    meta: Meta


class Series(BaseModel):
    """A postseason series and its result."""

    season: int
    round: str = Field(description="WS, ALCS, NLCS, ALDS1, ALDS2, NLDS1, NLDS2, ALWC1, ...")
    winner_team_id: str
    winner_name: str | None
    winner_league: str
    loser_team_id: str
    loser_name: str | None
    loser_league: str
    wins: int = Field(description="Games the winner won.")
    losses: int = Field(description="Games the winner lost.")
    ties: int


class SeriesList(BaseModel):
    data: list[Series]
    meta: Meta
