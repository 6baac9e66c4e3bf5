"""Follow-ups the conversation completes, search terms, and when to ask rather than refuse."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from powerstrip.runtime import ChatMessage, ModelTextDelta, ModelToolCall, ToolCall, ToolSpec
from powerstrip.runtime.offline import OfflineRouter

pytestmark = pytest.mark.anyio

OWNER = {"type": "string", "description": "The name of the list's owner."}
LIST = ToolSpec(
    "todo__list_todos",
    "List the named user's todos, oldest first, each with its id.",
    {"type": "object", "properties": {"username": OWNER}, "required": ["username"]},
)
ADD = ToolSpec(
    "todo__add_todo",
    "Add a todo to the named user's list.",
    {
        "type": "object",
        "properties": {"username": OWNER, "todo": {"type": "string"}},
        "required": ["username", "todo"],
    },
)
DELETE = ToolSpec(
    "todo__delete_todo",
    "Delete one todo from the named user's list, by its id.",
    {
        "type": "object",
        "properties": {"username": OWNER, "todo_id": {"type": "integer", "minimum": 1}},
        "required": ["username", "todo_id"],
    },
)
TODO = [LIST, ADD, DELETE]
PLAYERS = ToolSpec(
    "sports__list_players",
    "Find players by name, season or team.",
    {
        "type": "object",
        "properties": {
            "search": {"type": "string", "description": "Words of the player's name."},
            "seasons": {"type": "array", "items": {"type": "integer"}},
            "team_ids": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Only these teamIDs, e.g. NYA.",
            },
        },
    },
)
TEAMS = ToolSpec(
    "sports__list_teams",
    "List teams' regular seasons: record, wins, losses.",
    {"type": "object", "properties": {"season": {"type": "integer"}}},
)


async def run(history: Sequence[ChatMessage], tools: Sequence[ToolSpec]) -> tuple[str, Any]:
    text, call = "", None
    async for event in OfflineRouter().stream(history, tools):
        if isinstance(event, ModelTextDelta):
            text += event.text
        elif isinstance(event, ModelToolCall):
            call = event.call
    return text, call


def added(username: str, todo: str, todo_id: int) -> list[ChatMessage]:
    """A turn that added a todo: the request, the call and the plugin's answer."""
    call = ToolCall("c1", "todo__add_todo", json.dumps({"username": username, "todo": todo}))
    return [
        ChatMessage("user", f"add {todo} to {username}'s list"),
        ChatMessage("assistant", None, tool_calls=(call,)),
        ChatMessage("tool", json.dumps({"id": todo_id, "todo": todo}), tool_call_id="c1"),
        ChatMessage("assistant", "Called todo__add_todo."),
    ]


async def test_a_follow_up_about_it_reads_what_the_last_call_was_about() -> None:
    history = [*added("alice", "read a book", 7), ChatMessage("user", "what's on it now?")]
    _, call = await run(history, TODO)
    assert call.name == "todo__list_todos"
    assert json.loads(call.arguments) == {"username": "alice"}


async def test_a_follow_up_verb_takes_its_arguments_from_the_conversation() -> None:
    history = [*added("alice", "order pizza", 7), ChatMessage("user", "actually take it off")]
    _, call = await run(history, TODO)
    assert call.name == "todo__delete_todo"
    assert json.loads(call.arguments) == {"username": "alice", "todo_id": 7}


async def test_without_a_conversation_it_is_not_a_follow_up() -> None:
    text, call = await run([ChatMessage("user", "what's on it now?")], TODO)
    assert call is None
    assert "todo" in text


async def test_the_words_after_find_are_the_search_term() -> None:
    _, call = await run([ChatMessage("user", "find aaron judge")], [PLAYERS, TEAMS])
    assert call.name == "sports__list_players"
    assert json.loads(call.arguments) == {"search": "aaron judge"}


async def test_a_name_after_the_is_not_a_persons_name_and_is_looked_up() -> None:
    message = ChatMessage("user", "list the players of the Mets in 2024")
    _, call = await run([message], [PLAYERS, TEAMS])
    # "the Mets" is no player's name: the teams are listed to find its id.
    assert call.name == "sports__list_teams"


async def test_a_request_with_words_nothing_reads_is_not_asked_about() -> None:
    convert = ToolSpec(
        "convert_time",
        "Convert a time in seconds to hours and minutes.",
        {
            "type": "object",
            "properties": {"seconds": {"type": "integer", "description": "The seconds."}},
            "required": ["seconds"],
        },
    )
    # "right" is neither a word of the operation nor a value: not a question about it.
    text, call = await run([ChatMessage("user", "what's the time right now?")], [convert])
    assert call is None
    assert not text.startswith("To call")
    text, call = await run([ChatMessage("user", "convert the time")], [convert])
    assert call is None
    assert text.startswith("To call `convert_time` I need `seconds`")


async def test_a_number_after_number_is_a_number_when_no_list_was_shown() -> None:
    factorial = ToolSpec(
        "math_factorial",
        "Calculate the factorial of a number.",
        {"type": "object", "properties": {"number": {"type": "integer"}}, "required": ["number"]},
    )
    _, call = await run([ChatMessage("user", "the factorial of the number 5")], [factorial])
    assert json.loads(call.arguments) == {"number": 5}
    text, call = await run([ChatMessage("user", "remove item number 3 from bob's list")], TODO)
    assert call is None
    assert "`todo_id`" in text
