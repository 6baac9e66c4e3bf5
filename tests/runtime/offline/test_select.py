"""Choosing an operation for a message, or none."""

from __future__ import annotations

import json

from powerstrip.runtime import ToolSpec
from powerstrip.runtime.offline.select import ABSTAIN_BELOW, index_for, select, tools_digest

TOOLS = [
    ToolSpec(
        "todo__list_todos",
        "List the named user's todos, oldest first.",
        {"type": "object", "properties": {"username": {"type": "string"}}},
    ),
    ToolSpec(
        "todo__add_todo",
        "Add a todo to the named user's list.",
        {"type": "object", "properties": {"username": {"type": "string"}, "todo": {}}},
    ),
    ToolSpec(
        "todo__delete_todo",
        "Delete one todo from the named user's list, by its id.",
        {"type": "object", "properties": {"todo_id": {"type": "integer"}}},
    ),
    ToolSpec(
        "weather__getForecast",
        "Get the weather forecast for a city.",
        {"type": "object", "properties": {"city": {"type": "string"}, "days": {}}},
    ),
]


def chosen(message: str) -> str | None:
    candidate = select(message, TOOLS).chosen
    return candidate.tool.name if candidate else None


def test_the_operation_named_by_the_message_is_chosen() -> None:
    assert chosen("add buy milk to alice's todo list") == "todo__add_todo"
    assert chosen("show me alice's todos") == "todo__list_todos"
    assert chosen("remove todo 3 from bob's list") == "todo__delete_todo"
    assert chosen("what's the forecast for Paris in 3 days?") == "weather__getForecast"


def test_nothing_is_chosen_when_no_operation_fits() -> None:
    selection = select("Who won the 1998 football world cup?", TOOLS)
    assert selection.chosen is None
    assert selection.best is not None
    assert selection.best.fit < ABSTAIN_BELOW


def test_an_empty_tool_list_chooses_nothing() -> None:
    assert select("add milk", []).chosen is None


def test_the_index_is_built_once_per_tool_list() -> None:
    assert index_for(TOOLS) is index_for(list(TOOLS))
    changed = [*TOOLS[:-1], ToolSpec("weather__getForecast", "Other text.")]
    assert index_for(changed) is not index_for(TOOLS)


def test_a_tool_set_rebuilt_with_the_same_content_reuses_the_index() -> None:
    # The host builds new ToolSpecs (and a converter new schemas) on every turn; the same
    # content is never indexed twice.
    copies = [ToolSpec(t.name, t.description, json.loads(json.dumps(t.parameters))) for t in TOOLS]
    assert index_for(copies) is index_for(TOOLS)
    assert tools_digest(copies) == tools_digest(TOOLS)
    renamed = [*TOOLS[:-1], ToolSpec("weather__getForecast", TOOLS[-1].description, {})]
    assert tools_digest(renamed) != tools_digest(TOOLS)


BOILING = ToolSpec(
    "calculate_boiling_point",
    "Calculate the boiling point of a substance at a pressure.",
    {
        "type": "object",
        "properties": {
            "substance": {"type": "string", "description": "The substance."},
            "pressure": {"type": "number", "description": "The pressure in kPa."},
        },
        "required": ["pressure"],
    },
)


def test_a_word_nothing_reads_lowers_the_fit() -> None:
    # Every word read (the operation's own, or a value) against one that is neither.
    asked = select("the boiling point at a pressure of 10 kPa", [BOILING]).best
    other = select("the freezing point at a pressure of 10 kPa", [BOILING]).best
    assert asked is not None
    assert other is not None
    assert asked.explained == 1.0
    assert other.explained == 0.0
    assert asked.fit > other.fit
    # "freezing" stands where the name has "boiling": another kind of point.
    assert other.contradicted == 1.0
    assert asked.contradicted == 0.0


def test_what_a_request_requires_and_does_not_give_lowers_the_fit() -> None:
    given = select("the boiling point at a pressure of 10 kPa", [BOILING]).best
    lacking = select("the boiling point", [BOILING]).best
    assert given is not None
    assert lacking is not None
    assert lacking.missing_required == 1.0
    assert given.missing_required == 0.0
    assert given.fit > lacking.fit


def test_another_form_of_a_name_word_counts_for_it() -> None:
    discoverer = ToolSpec(
        "get_discoverer",
        "Get the person who made a scientific discovery.",
        {"type": "object", "properties": {"discovery": {"type": "string"}}},
    )
    best = select("who discovered radium?", [discoverer]).best
    assert best is not None
    assert best.name_coverage == 1.0


def test_a_name_or_a_position_before_a_name_word_contradicts_nothing() -> None:
    museum = ToolSpec(
        "museum_info",
        "Opening hours and exhibitions of a museum.",
        {"type": "object", "properties": {"museum": {"type": "string"}}, "required": ["museum"]},
    )
    best = select("opening hours of the Metropolitan Museum", [museum]).best
    assert best is not None
    assert best.contradicted == 0.0


def test_a_name_word_written_short_counts_for_the_word_its_description_spells_out() -> None:
    temperature = ToolSpec(
        "temp_forecast",
        "Forecast the temperature of a city.",
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    best = select("the temperature forecast for Lima", [temperature]).best
    assert best is not None
    assert best.name_coverage == 1.0
    # A name word the description uses whole is a word: "time" is not short for "timezone".
    clock = ToolSpec(
        "get_time",
        "The time of day in a timezone.",
        {"type": "object", "properties": {"timezone": {"type": "string"}}},
    )
    other = select("which timezone is Lima in?", [clock]).best
    assert other is not None
    assert other.name_coverage == 0.0


def test_praise_for_what_is_asked_for_is_no_word_against_it() -> None:
    search = ToolSpec(
        "monument_search",
        "Search for monuments in a city.",
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    praised = select("famous monuments in Rome", [search]).best
    other = select("ruined monuments in Rome", [search]).best
    assert praised is not None
    assert other is not None
    assert praised.explained == 1.0
    assert other.explained == 0.0
