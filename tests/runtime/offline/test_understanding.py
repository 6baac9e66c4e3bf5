"""Function words, ids written like their examples, lookups by name, and rankings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from powerstrip.runtime import ChatMessage, ModelTextDelta, ModelToolCall, ToolCall, ToolSpec
from powerstrip.runtime.offline import OfflineRouter

pytestmark = pytest.mark.anyio

LIST = ToolSpec(
    "todo__list_todos",
    "List the named user's todos, oldest first, each with its id.",
    {
        "type": "object",
        "properties": {"username": {"type": "string", "description": "The list's owner."}},
        "required": ["username"],
    },
)
IDS = {"type": "array", "items": {"type": "string"}}
PLAYERS = ToolSpec(
    "sports__list_players",
    "Find players by name.",
    {
        "type": "object",
        "properties": {
            "search": {"type": "string", "description": "Words of the player's name."},
            "limit": {"type": "integer", "maximum": 100, "default": 25},
        },
    },
)
STATS = ToolSpec(
    "sports__list_stats",
    "Season batting and pitching stats per player.",
    {
        "type": "object",
        "properties": {
            "seasons": {"type": "array", "items": {"type": "integer"}},
            "player_ids": {**IDS, "description": "Only these playerIDs, e.g. judgeaa01."},
        },
    },
)
TEAMS = ToolSpec(
    "sports__list_teams",
    "List teams' regular seasons: record, wins, losses.",
    {
        "type": "object",
        "properties": {
            "season": {"type": "integer"},
            "limit": {"type": "integer", "maximum": 100, "default": 25},
        },
    },
)


async def run(history: Sequence[ChatMessage], tools: Sequence[ToolSpec]) -> tuple[str, Any]:
    text, call = "", None
    async for event in OfflineRouter().stream(history, tools):
        if isinstance(event, ModelTextDelta):
            text += event.text
        elif isinstance(event, ModelToolCall):
            call = event.call
    return text, call


async def test_a_function_word_is_never_a_name() -> None:
    _, call = await run([ChatMessage("user", "what's on alice's todo list?")], [LIST])
    assert json.loads(call.arguments) == {"username": "alice"}
    text, call = await run([ChatMessage("user", "what's on my todo list?")], [LIST])
    assert call is None
    assert "I need `username`" in text


async def test_an_id_written_like_the_example_is_taken_whole() -> None:
    _, call = await run([ChatMessage("user", "stats for judgeaa01 in 2024")], [PLAYERS, STATS])
    assert json.loads(call.arguments) == {"seasons": [2024], "player_ids": ["judgeaa01"]}


async def test_a_name_is_looked_up_then_the_call_is_made_with_its_id() -> None:
    ask = ChatMessage("user", "show Aaron Judge's stats for 2024")
    _, lookup = await run([ask], [PLAYERS, STATS])
    assert lookup.name == "sports__list_players"
    assert json.loads(lookup.arguments)["search"] == "Aaron Judge"
    found = json.dumps({"data": [{"id": "judgeaa01", "full_name": "Aaron Judge"}]})
    history = [
        ask,
        ChatMessage("assistant", None, tool_calls=(lookup,)),
        ChatMessage("tool", found, tool_call_id=lookup.id),
    ]
    _, call = await run(history, [PLAYERS, STATS])
    assert call.name == "sports__list_stats"
    assert json.loads(call.arguments) == {"seasons": [2024], "player_ids": ["judgeaa01"]}


async def test_several_matches_are_asked_about() -> None:
    ask = ChatMessage("user", "stats for Soto")
    _, lookup = await run([ask], [PLAYERS, STATS])
    people = [
        {"id": "sotoju01", "full_name": "Juan Soto"},
        {"id": "sotogr01", "full_name": "Gregory Soto"},
    ]
    history = [
        ask,
        ChatMessage("assistant", None, tool_calls=(lookup,)),
        ChatMessage("tool", json.dumps({"data": people}), tool_call_id=lookup.id),
    ]
    text, call = await run(history, [PLAYERS, STATS])
    assert call is None
    assert "Juan Soto (sotoju01)" in text
    assert "Gregory Soto (sotogr01)" in text
    assert text.endswith("?")


async def test_the_most_sorts_the_records_by_the_field_named() -> None:
    ask = ChatMessage("user", "which team had the most wins in 2023?")
    _, call = await run([ask], [TEAMS])
    assert json.loads(call.arguments) == {"season": 2023, "limit": 100}
    teams = [
        {"name": "Mets", "wins": 75},
        {"name": "Braves", "wins": 104},
        {"name": "Reds", "wins": 82},
    ]
    history = [
        ask,
        ChatMessage("assistant", None, tool_calls=(ToolCall(call.id, call.name, call.arguments),)),
        ChatMessage("tool", json.dumps({"data": teams}), tool_call_id=call.id),
    ]
    text, _ = await run(history, [TEAMS])
    assert "First by wins (of the 3 records returned): Braves (104)." in text


async def test_an_off_topic_message_gets_one_short_sentence() -> None:
    text, call = await run([ChatMessage("user", "what's the capital of France?")], [LIST, TEAMS])
    assert call is None
    assert text.startswith("I did not call any plugin")
    assert "todos (todo)" in text
    assert len(text) < 200


async def test_a_greeting_is_answered_with_what_the_plugins_work_with() -> None:
    text, call = await run([ChatMessage("user", "hi!")], [LIST, TEAMS])
    assert call is None
    assert text.startswith("Hello! With the enabled plugins I can help with todos (todo)")


async def test_a_middling_request_names_the_candidate_and_yes_makes_the_call() -> None:
    request = ChatMessage("user", "how did they do in 2024")
    text, call = await run([request], [LIST, TEAMS])
    assert call is None
    assert "Did you mean `sports__list_teams`" in text
    assert '{"season": 2024}' in text
    history = [request, ChatMessage("assistant", text), ChatMessage("user", "yes please")]
    _, call = await run(history, [LIST, TEAMS])
    assert call is not None
    assert call.name == "sports__list_teams"
    assert json.loads(call.arguments)["season"] == 2024
    # Anything but a yes is a new request.
    history[-1] = ChatMessage("user", "no, the capital of France")
    _, call = await run(history, [LIST, TEAMS])
    assert call is None
