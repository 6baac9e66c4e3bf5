"""The `sports` example: filters, season averages computed from the CSVs, limits, `check`."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest

from powerstrip.check import check_url
from powerstrip.examples import EXAMPLES, ExampleConfig
from powerstrip.net import GuardedClient
from powerstrip.testing import loopback_policy
from tests.examples.conftest import ServeExample

pytestmark = pytest.mark.anyio

DATA = resources.files("powerstrip.examples.sports") / "data"


@pytest.fixture
async def client(config: ExampleConfig) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(EXAMPLES["sports"].build(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://sports.test") as client:
        yield client


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"data", "meta"}
    assert body["meta"]["returned"] == len(body["data"]) <= body["meta"]["total"]
    return body


def csv_row(name: str, **match: str) -> dict[str, str]:
    with (DATA / f"{name}.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if all(r[k] == v for k, v in match.items())]
    assert len(rows) == 1, rows
    return rows[0]


def test_the_bundled_data_is_small_licensed_and_limited_to_2023_2025() -> None:
    names = {"people", "teams", "franchises", "batting", "pitching", "seriespost"}
    total = 0
    for name in names:
        path = Path(str(DATA / f"{name}.csv"))
        total += path.stat().st_size
        with path.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert rows, name
        if "yearID" in rows[0]:
            assert {int(r["yearID"]) for r in rows} == {2023, 2024, 2025}, name
    assert total < 1_500_000
    notice = (DATA / "LICENSE-DATA.md").read_text(encoding="utf-8")
    assert "CC BY-SA 3.0" in notice
    assert "Copyright 1996-2015 by Sean Lahman" in notice


async def test_a_name_search_finds_aaron_judge(client: httpx.AsyncClient) -> None:
    body = await get(client, "/players", search="aaron JUDGE")
    assert [p["id"] for p in body["data"]] == ["judgeaa01"]
    judge = body["data"][0]
    assert judge["full_name"] == "Aaron Judge"
    assert {(t["season"], t["team_id"]) for t in judge["teams"]} == {
        (2023, "NYA"),
        (2024, "NYA"),
        (2025, "NYA"),
    }
    # Accents do not matter: "acuna" finds Ronald Acuña.
    accented = await get(client, "/players", search="ronald acuna")
    assert [p["last_name"] for p in accented["data"]] == ["Acuña"]


async def test_players_filter_by_team_season_and_id(client: httpx.AsyncClient) -> None:
    body = await get(client, "/players", team_ids=["nya"], seasons=[2024], limit=100)
    assert body["meta"]["total"] > 30
    assert "judgeaa01" in {p["id"] for p in body["data"]}
    for player in body["data"]:
        assert any(t["team_id"] == "NYA" and t["season"] == 2024 for t in player["teams"])
    by_id = await get(client, "/players", player_ids=["judgeaa01", "ohtansh01"])
    assert {p["id"] for p in by_id["data"]} == {"judgeaa01", "ohtansh01"}


async def test_season_averages_match_a_hand_computation_from_the_csv(
    client: httpx.AsyncClient,
) -> None:
    row = {
        k: int(v)
        for k, v in csv_row("batting", playerID="judgeaa01", yearID="2024").items()
        if v.isdigit()
    }
    g, ab, h = row["G"], row["AB"], row["H"]
    body = await get(client, "/season_averages", season=2024, player_ids="judgeaa01")
    [averages] = body["data"]
    assert averages["team_ids"] == ["NYA"]
    assert averages["pitching"] is None
    batting = averages["batting"]
    assert batting["games"] == g
    assert batting["home_runs"] == round(row["HR"] / g, 3)
    assert batting["hits"] == round(h / g, 3)
    assert batting["runs_batted_in"] == round(row["RBI"] / g, 3)
    assert batting["avg"] == round(h / ab, 3) == 0.322
    on_base = (h + row["BB"] + row["HBP"]) / (ab + row["BB"] + row["HBP"] + row["SF"])
    assert batting["obp"] == round(on_base, 3) == 0.458
    total_bases = h + row["2B"] + 2 * row["3B"] + 3 * row["HR"]
    assert batting["slg"] == round(total_bases / ab, 3) == 0.701


async def test_season_averages_give_era_and_whip_for_a_pitcher(
    client: httpx.AsyncClient,
) -> None:
    row = csv_row("pitching", playerID="skenepa01", yearID="2024")
    innings = int(row["IPOuts"]) / 3
    body = await get(client, "/season_averages", season=2024, player_ids="skenepa01")
    pitching = body["data"][0]["pitching"]
    assert pitching["era"] == round(9 * int(row["ER"]) / innings, 2)
    assert pitching["whip"] == round((int(row["BB"]) + int(row["H"])) / innings, 2)


async def test_teams_filter_by_season_league_and_id(client: httpx.AsyncClient) -> None:
    body = await get(client, "/teams", season=2024, league="AL", limit=100)
    assert body["meta"]["total"] == 15
    assert {t["league"] for t in body["data"]} == {"AL"}
    [dodgers] = (await get(client, "/teams", season=2024, team_ids="LAN"))["data"]
    assert dodgers["world_series_winner"] is True
    assert dodgers["wins"] == int(csv_row("teams", yearID="2024", teamID="LAN")["W"])


async def test_stats_filter_by_team_and_the_limit_caps_the_answer(
    client: httpx.AsyncClient,
) -> None:
    default = await get(client, "/stats", seasons=2025, team_ids="NYA")
    assert default["meta"]["returned"] == 25 < default["meta"]["total"]
    assert {line["team_id"] for line in default["data"]} == {"NYA"}
    full = await get(client, "/stats", seasons=2025, team_ids="NYA", limit=100)
    assert full["meta"]["returned"] == min(100, full["meta"]["total"])
    [judge] = (await get(client, "/stats", player_ids="judgeaa01", seasons=2024))["data"]
    assert judge["batting"]["home_runs"] == 58


async def test_series_filter_by_round_and_team(client: httpx.AsyncClient) -> None:
    body = await get(client, "/series", round="WS")
    assert [(s["season"], s["winner_team_id"]) for s in body["data"]] == [
        (2023, "TEX"),
        (2024, "LAN"),
        (2025, "LAN"),
    ]
    division = await get(client, "/series", season=2025, round="alds")
    assert {s["round"] for s in division["data"]} == {"ALDS1", "ALDS2"}
    yankees = await get(client, "/series", season=2024, team_id="NYA")
    assert all("NYA" in (s["winner_team_id"], s["loser_team_id"]) for s in yankees["data"])
    assert yankees["meta"]["total"] == 3  # a bye past the wild card; ALDS, ALCS won, WS lost


async def test_an_unknown_season_is_empty_data_not_an_error(client: httpx.AsyncClient) -> None:
    for path, params in [
        ("/teams", {"season": 1999}),
        ("/series", {"season": 1999}),
        ("/season_averages", {"season": 1999}),
        ("/stats", {"seasons": 1999}),
        ("/players", {"seasons": 1999}),
    ]:
        body = await get(client, path, **params)
        assert body == {"data": [], "meta": {"total": 0, "returned": 0}}, path


@pytest.mark.parametrize("limit", ["0", "101", "many"])
async def test_an_invalid_limit_is_a_422_json_error(client: httpx.AsyncClient, limit: str) -> None:
    response = await client.get("/players", params={"limit": limit})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_arguments"
    assert "limit" in error["message"]


async def test_season_averages_need_a_season(client: httpx.AsyncClient) -> None:
    response = await client.get("/season_averages", params={"player_ids": "judgeaa01"})
    assert response.status_code == 422
    assert "season" in response.json()["error"]["message"]


async def test_sports_passes_check_over_https(
    serve_example: ServeExample, config: ExampleConfig, ca_bundle: Path
) -> None:
    server = serve_example("sports", config)
    policy = loopback_policy(server, ["plugin.example.com"], ca_bundle=ca_bundle)
    async with GuardedClient(policy) as guarded:
        report = await check_url("https://plugin.example.com", guarded, dev_mode=False)
    findings = "\n".join(
        f"{f.severity} {f.code} {f.location}: {f.message}" for f in report.findings
    )
    assert report.manifest is not None, findings
    assert {(t.method, t.path) for t in report.tools} == {
        ("GET", path) for path in ("/players", "/teams", "/season_averages", "/stats", "/series")
    }, findings
    assert not any(t.consequential for t in report.tools), findings
    assert report.errors == 0, findings
    assert report.warnings == 0, findings
