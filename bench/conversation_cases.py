"""Natural requests over the example plugins, as people type them, with what should happen.

Each case is one conversation: `setup` turns are sent first (every call they lead to is
approved), then the scored turn. `expect` is the calls the scored turn should make, in order,
or NONE (call nothing and answer briefly) or ASK (call nothing and ask a question). `has` lists
text the reply must contain. Operation names are without the plugin's namespace; several
accepted operations are written `a|b`.

Values: a plain value must be equal (strings ignoring case, lists ignoring order);
`Contains("x")` accepts any string containing x; `Nth(k)` is the id of the k-th todo (0-based,
-1 the last) in the list the call names, read from the example's own store just before the
scored turn. Data facts (ids, wins, winners) are from the bundled Lahman 2023-2025 tables.

Written by hand for bench/conversations.py; the router is never tuned on single sentences of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ASK", "CASES", "NONE", "Case", "Contains", "Nth"]

ASK = "ask"
NONE = "none"


@dataclass(frozen=True, slots=True)
class Contains:
    text: str


@dataclass(frozen=True, slots=True)
class Nth:
    position: int


Call = tuple[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Case:
    plugin: str  # todo-none | todo-service | todo-user | sports (with todo-user beside it)
    text: str
    expect: list[Call] | str
    setup: tuple[str, ...] = ()
    has: tuple[str, ...] = ()
    group: str = field(default="")


def _named(plugin: str, owner: str, group: str) -> list[Case]:
    """Requests over a list named by its owner (todo-none, todo-service)."""
    u = owner
    return [
        Case(plugin, f"what's on {u}'s todo list?", [("list_todos", {"username": u})]),
        Case(plugin, f"show {u}'s list", [("list_todos", {"username": u})]),
        Case(plugin, f"what does {u} have to do", [("list_todos", {"username": u})]),
        Case(plugin, f"list todos for {u}", [("list_todos", {"username": u})]),
        Case(plugin, f"{u}'s todos please", [("list_todos", {"username": u})]),
        Case(
            plugin,
            f"add buy milk to {u}'s todo list",
            [("add_todo", {"username": u, "todo": "buy milk"})],
        ),
        Case(
            plugin,
            f"put call the plumber on {u}'s list",
            [("add_todo", {"username": u, "todo": "call the plumber"})],
        ),
        Case(
            plugin,
            f"remind {u} to water the plants",
            [("add_todo", {"username": u, "todo": "water the plants"})],
        ),
        Case(
            plugin,
            f"{u} needs to renew the passport, add it to the list",
            [("add_todo", {"username": u, "todo": Contains("renew the passport")})],
        ),
        Case(
            plugin,
            f'add "pick up the kids at 5" for {u}',
            [("add_todo", {"username": u, "todo": "pick up the kids at 5"})],
        ),
        Case(
            plugin,
            f"new todo for {u}: book flights to Chicago, IL",
            [("add_todo", {"username": u, "todo": "book flights to Chicago, IL"})],
        ),
        Case(
            plugin,
            f"also add pay the gas bill to {u}'s list",
            [("add_todo", {"username": u, "todo": "pay the gas bill"})],
            setup=(f"add buy bread to {u}'s list",),
        ),
        Case(
            plugin,
            "and add take out the trash",
            [("add_todo", {"username": u, "todo": "take out the trash"})],
            setup=(f"add buy bread to {u}'s list",),
        ),
        Case(
            plugin,
            "what's on my todo list?",
            ASK,
        ),
        Case(plugin, "add buy milk", ASK),
        Case(
            plugin,
            u,
            [("add_todo", {"username": u, "todo": "buy milk"})],
            setup=("add buy milk",),
        ),
        Case(
            plugin,
            f"it's {u}",
            [("list_todos", {"username": u})],
            setup=("show my todo list",),
        ),
        Case(
            plugin,
            "delete the second one",
            [("delete_todo", {"username": u, "todo_id": Nth(1)})],
            setup=(
                f"add walk the dog to {u}'s list",
                f"add wash the car to {u}'s list",
                f"show {u}'s todos",
            ),
        ),
        Case(
            plugin,
            "remove the first one",
            [("delete_todo", {"username": u, "todo_id": Nth(0)})],
            setup=(f"add mow the lawn to {u}'s list", f"what's on {u}'s list"),
        ),
        Case(
            plugin,
            "take the last one off the list",
            [("delete_todo", {"username": u, "todo_id": Nth(-1)})],
            setup=(f"add fix the bike to {u}'s list", f"list {u}'s todos"),
        ),
        Case(
            plugin,
            "I'm done with the last one",
            [("delete_todo", {"username": u, "todo_id": Nth(-1)})],
            setup=(f"add sweep the porch to {u}'s list", f"show me {u}'s todo list"),
        ),
        Case(
            plugin,
            "actually take it off",
            [("delete_todo", {"username": u, "todo_id": Nth(-1)})],
            setup=(f"add order pizza to {u}'s list",),
        ),
        Case(
            plugin,
            f"delete todo 1 from {u}'s list",
            [("delete_todo", {"username": u, "todo_id": 1})],
        ),
        Case(
            plugin,
            "what's on it now?",
            [("list_todos", {"username": u})],
            setup=(f"add read a book to {u}'s list",),
        ),
        Case(
            plugin,
            f"does {u} have anything to do?",
            [("list_todos", {"username": u})],
        ),
    ]


def _named_group(plugin: str) -> list[Case]:
    cases = _named(plugin, "alice", plugin) + _named(plugin, "bob", plugin)[:12]
    return [Case(c.plugin, c.text, c.expect, c.setup, c.has, plugin) for c in cases]


_OWN = [
    Case("todo-user", "what's on my todo list?", [("list_todos", {})]),
    Case("todo-user", "show my list", [("list_todos", {})]),
    Case("todo-user", "what do I have to do today", [("list_todos", {})]),
    Case("todo-user", "my todos", [("list_todos", {})]),
    Case("todo-user", "show me my to-do list", [("list_todos", {})]),
    Case("todo-user", "anything left on my list?", [("list_todos", {})]),
    Case("todo-user", "list my tasks", [("list_todos", {})]),
    Case("todo-user", "add buy milk", [("add_todo", {"todo": "buy milk"})]),
    Case("todo-user", "add buy milk to my list", [("add_todo", {"todo": "buy milk"})]),
    Case("todo-user", "remind me to call mom", [("add_todo", {"todo": "call mom"})]),
    Case(
        "todo-user",
        "remind me to pick up the dry cleaning tomorrow",
        [("add_todo", {"todo": "pick up the dry cleaning tomorrow"})],
    ),
    Case(
        "todo-user",
        "put eggs and flour on my shopping list",
        [("add_todo", {"todo": "eggs and flour"})],
    ),
    Case(
        "todo-user",
        "I need to renew my library card",
        [("add_todo", {"todo": Contains("renew my library card")})],
    ),
    Case(
        "todo-user", "new todo: email the landlord", [("add_todo", {"todo": "email the landlord"})]
    ),
    Case("todo-user", "todo: file the taxes", [("add_todo", {"todo": "file the taxes"})]),
    Case(
        "todo-user",
        "create a todo to book a dentist appointment",
        [("add_todo", {"todo": Contains("book a dentist appointment")})],
    ),
    Case(
        "todo-user", "add a to-do: clean the garage", [("add_todo", {"todo": "clean the garage"})]
    ),
    Case(
        "todo-user",
        "don't let me forget to buy a birthday card",
        [("add_todo", {"todo": Contains("buy a birthday card")})],
    ),
    Case(
        "todo-user",
        "add 'send the invoice to ACME' to my list",
        [("add_todo", {"todo": "send the invoice to ACME"})],
    ),
    Case(
        "todo-user",
        "also add feed the cat",
        [("add_todo", {"todo": "feed the cat"})],
        setup=("add water the plants",),
    ),
    Case(
        "todo-user",
        "delete the second one",
        [("delete_todo", {"todo_id": Nth(1)})],
        setup=("add wash the dishes", "add dry the dishes", "show my list"),
    ),
    Case(
        "todo-user",
        "remove the first item",
        [("delete_todo", {"todo_id": Nth(0)})],
        setup=("add tidy the desk", "what's on my list"),
    ),
    Case(
        "todo-user",
        "cross off the last one",
        [("delete_todo", {"todo_id": Nth(-1)})],
        setup=("add charge the phone", "show my todos"),
    ),
    Case(
        "todo-user",
        "I finished the last one",
        [("delete_todo", {"todo_id": Nth(-1)})],
        setup=("add call the bank", "show my todos"),
    ),
    Case(
        "todo-user",
        "take it off my list",
        [("delete_todo", {"todo_id": Nth(-1)})],
        setup=("add buy stamps",),
    ),
    Case(
        "todo-user",
        "never mind, delete that",
        [("delete_todo", {"todo_id": Nth(-1)})],
        setup=("add learn the ukulele",),
    ),
    Case("todo-user", "delete todo 999999", [("delete_todo", {"todo_id": 999999})]),
    Case("todo-user", "remove item number 3", ASK),
    Case("todo-user", "how many things are on my list?", [("list_todos", {})]),
]
_OWN = [Case(c.plugin, c.text, c.expect, c.setup, c.has, "todo-user") for c in _OWN]

_SPORTS = [
    # Teams and records.
    Case("sports", "show the teams of the 2024 season", [("list_teams", {"season": 2024})]),
    Case("sports", "list all AL teams in 2023", [("list_teams", {"season": 2023, "league": "AL"})]),
    Case(
        "sports", "national league teams 2025", [("list_teams", {"season": 2025, "league": "NL"})]
    ),
    Case("sports", "which teams are in the american league?", [("list_teams", {"league": "AL"})]),
    Case(
        "sports",
        "what was the Yankees' record in 2024?",
        [("list_teams", {"season": 2024, "team_ids": ["NYA"]})],
        has=("94",),
    ),
    Case(
        "sports",
        "how did the Dodgers do in 2023",
        [("list_teams", {"season": 2023, "team_ids": ["LAN"]})],
        has=("100",),
    ),
    Case(
        "sports",
        "what was the Mets' record last season",
        [("list_teams", {"season": 2025, "team_ids": ["NYN"]})],
        has=("83",),
    ),
    Case(
        "sports",
        "show me team NYA in 2023",
        [("list_teams", {"season": 2023, "team_ids": ["NYA"]})],
    ),
    Case(
        "sports",
        "which team won the most games in 2023?",
        [("list_teams", {"season": 2023})],
        has=("Atlanta Braves",),
    ),
    Case(
        "sports",
        "who had the best record in 2024",
        [("list_teams", {"season": 2024})],
        has=("Los Angeles Dodgers",),
    ),
    Case(
        "sports",
        "top 3 teams by wins in 2025",
        [("list_teams", {"season": 2025})],
        has=("Milwaukee Brewers", "Philadelphia Phillies", "New York Yankees"),
    ),
    Case(
        "sports",
        "how many teams were there in 2024?",
        [("list_teams", {"season": 2024})],
        has=("30",),
    ),
    Case(
        "sports",
        "compare the Yankees and the Mets in 2024",
        [("list_teams", {"season": 2024, "team_ids": ["NYA", "NYN"]})],
        has=("94", "89"),
    ),
    Case("sports", "which team hit the most home runs in 2024", [("list_teams", {"season": 2024})]),
    Case("sports", "teams with the lowest ERA in 2023", [("list_teams", {"season": 2023})]),
    # Postseason.
    Case(
        "sports",
        "who won the world series in 2023?",
        [("list_series", {"season": 2023, "round": "WS"})],
        has=("Texas Rangers",),
    ),
    Case(
        "sports",
        "world series 2024",
        [("list_series", {"season": 2024, "round": "WS"})],
        has=("Los Angeles Dodgers",),
    ),
    Case(
        "sports",
        "show the ALCS results for 2025",
        [("list_series", {"season": 2025, "round": "ALCS"})],
    ),
    Case("sports", "nlds 2024", [("list_series", {"season": 2024, "round": "NLDS"})]),
    Case("sports", "postseason series in 2023", [("list_series", {"season": 2023})]),
    Case("sports", "playoff results 2024", [("list_series", {"season": 2024})]),
    Case(
        "sports",
        "which playoff series did NYA play in 2024",
        [("list_series", {"season": 2024, "team_id": "NYA"})],
    ),
    Case(
        "sports",
        "how did the Yankees do in the 2024 playoffs",
        [("list_series", {"season": 2024, "team_id": "NYA"})],
    ),
    Case(
        "sports",
        "the wild card series of 2025",
        [("list_series", {"season": 2025, "round": Contains("WC")})],
    ),
    # Players.
    Case("sports", "find aaron judge", [("list_players", {"search": Contains("judge")})]),
    Case(
        "sports",
        "look up the player Shohei Ohtani",
        [("list_players", {"search": Contains("ohtani")})],
    ),
    Case(
        "sports", "search for players named Soto", [("list_players", {"search": Contains("soto")})]
    ),
    Case(
        "sports",
        "who played for the Mets in 2024?",
        [("list_players", {"seasons": [2024], "team_ids": ["NYN"]})],
    ),
    Case(
        "sports",
        "players on LAN in 2025",
        [("list_players", {"seasons": [2025], "team_ids": ["LAN"]})],
    ),
    Case(
        "sports",
        "where was Mookie Betts born",
        [("list_players", {"search": Contains("betts")})],
        has=("USA",),
    ),
    Case("sports", "player judgeaa01", [("list_players", {"player_ids": ["judgeaa01"]})]),
    # Stats by id (the id given) and by name (the id found first).
    Case(
        "sports",
        "stats for judgeaa01 in 2024",
        [("list_stats", {"player_ids": ["judgeaa01"], "seasons": [2024]})],
        has=("58",),
    ),
    Case(
        "sports",
        "season averages 2024 for ohtansh01",
        [("get_season_averages", {"season": 2024, "player_ids": ["ohtansh01"]})],
    ),
    Case(
        "sports",
        "show Aaron Judge's batting stats for 2024",
        [
            ("list_players", {"search": Contains("judge")}),
            ("list_stats", {"player_ids": ["judgeaa01"], "seasons": [2024]}),
        ],
        has=("58",),
    ),
    Case(
        "sports",
        "how many home runs did Pete Alonso hit in 2023",
        [
            ("list_players", {"search": Contains("alonso")}),
            ("list_stats", {"player_ids": ["alonspe01"], "seasons": [2023]}),
        ],
        has=("46",),
    ),
    Case(
        "sports",
        "Mookie Betts stats 2025",
        [
            ("list_players", {"search": Contains("betts")}),
            ("list_stats", {"player_ids": ["bettsmo01"], "seasons": [2025]}),
        ],
    ),
    Case(
        "sports",
        "what was Shohei Ohtani's batting average in 2024",
        [
            ("list_players", {"search": Contains("ohtani")}),
            ("get_season_averages", {"season": 2024, "player_ids": ["ohtansh01"]}),
        ],
    ),
    Case(
        "sports",
        "Paul Skenes pitching 2024",
        [
            ("list_players", {"search": Contains("skenes")}),
            ("list_stats", {"player_ids": ["skenepa01"], "seasons": [2024]}),
        ],
    ),
    Case(
        "sports",
        "Juan Soto's stats in 2024",
        [
            ("list_players", {"search": Contains("soto")}),
            ("list_stats", {"player_ids": ["sotoju01"], "seasons": [2024]}),
        ],
    ),
    Case("sports", "stats for Soto", ASK),
    Case(
        "sports",
        "who stole the most bases for the Mets in 2023?",
        [("list_stats", {"seasons": [2023], "team_ids": ["NYN"]})],
        has=("Lindor",),
    ),
    Case(
        "sports",
        "who hit the most home runs for NYA in 2024",
        [("list_stats", {"seasons": [2024], "team_ids": ["NYA"]})],
        has=("Judge",),
    ),
    Case(
        "sports",
        "Yankees batting stats 2023",
        [("list_stats", {"seasons": [2023], "team_ids": ["NYA"]})],
    ),
    Case("sports", "season averages for 2023", [("get_season_averages", {"season": 2023})]),
    Case("sports", "per-game averages 2025", [("get_season_averages", {"season": 2025})]),
    Case(
        "sports",
        "top 5 players by batting average in 2024",
        [("get_season_averages", {"season": 2024})],
    ),
    Case(
        "sports", "show 10 stat lines from 2023", [("list_stats", {"seasons": [2023], "limit": 10})]
    ),
    Case(
        "sports",
        "Judge stats 2024",
        [
            ("list_players", {"search": Contains("judge")}),
            ("list_stats", {"player_ids": ["judgeaa01"], "seasons": [2024]}),
        ],
    ),
]
_SPORTS = [Case(c.plugin, c.text, c.expect, c.setup, c.has, "sports") for c in _SPORTS]

_OFF_TOPIC = [
    Case("sports", text, NONE, group="off-topic")
    for text in (
        "hi",
        "hello there",
        "thanks!",
        "what's the capital of France?",
        "tell me a joke",
        "what's the weather like in Paris tomorrow",
        "book me a table for two tonight",
        "translate good morning into Spanish",
        "who wrote Hamlet?",
        "what can you do?",
        "play some music",
        "how do I bake bread",
    )
]

CASES: list[Case] = [
    *_named_group("todo-none"),
    *_named_group("todo-service"),
    *_OWN,
    *_SPORTS,
    *_OFF_TOPIC,
]
