"""Several calls in one turn: listed values, repeated requests, and details that are not."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest

from powerstrip.runtime import ChatMessage, ModelToolCall, ToolSpec
from powerstrip.runtime.offline import OfflineRouter

pytestmark = pytest.mark.anyio


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> ToolSpec:
    return ToolSpec(
        name, description, {"type": "object", "properties": properties, "required": required}
    )


FACTORIAL = _tool(
    "math__factorial",
    "Calculate the factorial of a number.",
    {"number": {"type": "integer", "description": "The number to compute the factorial of."}},
    ["number"],
)
WEATHER = _tool(
    "weather__current",
    "Get the current weather in a city.",
    {"city": {"type": "string", "description": "The city, e.g. Paris."}},
    ["city"],
)
ROUTE = _tool(
    "maps__route",
    "Estimate the travel time of a route with stops.",
    {
        "start": {"type": "string", "description": "Where the route starts."},
        "stops": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Cities to stop at on the way.",
        },
    },
    ["start", "stops"],
)
FLIGHT = _tool(
    "travel__book_flight",
    "Book a flight from one city to another.",
    {
        "origin": {"type": "string", "description": "The departure city."},
        "destination": {"type": "string", "description": "The arrival city."},
    },
    ["origin", "destination"],
)
HOTEL = _tool(
    "travel__book_hotel",
    "Book a hotel room in a city for a number of nights.",
    {
        "location": {"type": "string", "description": "The city of the hotel."},
        "nights": {"type": "integer", "description": "How many nights."},
    },
    ["location", "nights"],
)
SAVE = _tool(
    "game__save_progress",
    "Save the game progress at a stage in a difficulty mode.",
    {
        "stage": {"type": "integer", "description": "The stage number."},
        "mode": {"type": "string", "enum": ["easy", "hard"], "description": "The mode."},
    },
    ["stage", "mode"],
)
LAUNCHER = _tool(
    "bridge__set_launcher_info",
    "Update the launcher information with a launcher path and a name.",
    {
        "launcher": {"type": "string", "description": "The launcher path."},
        "name": {"type": "string", "description": "The launcher name."},
    },
    ["launcher", "name"],
)


async def calls_for(text: str, tools: Sequence[ToolSpec]) -> list[tuple[str, dict[str, Any]]]:
    router = OfflineRouter(today=lambda: date(2024, 6, 12))
    events = [event async for event in router.stream([ChatMessage("user", text)], tools)]
    return [
        (e.call.name, json.loads(e.call.arguments)) for e in events if isinstance(e, ModelToolCall)
    ]


async def test_several_values_of_a_scalar_parameter_make_one_call_each() -> None:
    calls = await calls_for("Find the factorial of 5, 10 and 15.", [FACTORIAL])
    assert calls == [("math__factorial", {"number": n}) for n in (5, 10, 15)]


async def test_listed_places_for_a_scalar_parameter_make_one_call_each() -> None:
    calls = await calls_for("Get the current weather in Tokyo and London.", [WEATHER])
    assert sorted(a["city"] for _, a in calls) == ["London", "Tokyo"]


async def test_a_place_and_its_qualifier_are_one_value_not_a_list() -> None:
    calls = await calls_for("Get the current weather in Seattle, Washington.", [WEATHER])
    assert len(calls) == 1


async def test_an_array_parameter_takes_the_whole_list_in_one_call() -> None:
    calls = await calls_for(
        "Estimate the travel time from San Francisco with stops at Santa Barbara and Monterey.",
        [ROUTE],
    )
    assert calls == [
        ("maps__route", {"start": "San Francisco", "stops": ["Santa Barbara", "Monterey"]})
    ]


async def test_two_clauses_with_two_operations_make_two_calls() -> None:
    calls = await calls_for(
        "Book a flight from Seattle to Boston and book a hotel in Boston for 4 nights.",
        [FLIGHT, HOTEL],
    )
    assert ("travel__book_hotel", {"location": "Boston", "nights": 4}) in calls
    assert [name for name, _ in calls] == ["travel__book_flight", "travel__book_hotel"]


async def test_a_request_said_again_with_other_values_makes_another_call() -> None:
    calls = await calls_for(
        "Save game progress at stage 7 in easy mode and stage 3 in hard mode.", [SAVE]
    )
    assert calls == [
        ("game__save_progress", {"stage": 7, "mode": "easy"}),
        ("game__save_progress", {"stage": 3, "mode": "hard"}),
    ]


async def test_a_second_sentence_that_adds_a_detail_is_one_call() -> None:
    calls = await calls_for(
        "Help me update the launcher information with the launcher path '/usr/local/bin/app'. "
        "The launcher name is 'AppLauncher'.",
        [LAUNCHER],
    )
    assert len(calls) == 1
    assert calls[0][1]["launcher"] == "/usr/local/bin/app"


async def test_a_choice_between_values_is_not_a_list() -> None:
    calls = await calls_for("Find the factorial of 5 or 6.", [FACTORIAL])
    assert len(calls) == 1


SEASON = _tool(
    "sports__player_status",
    "Check a player's status in a season.",
    {
        "player": {"type": "string", "description": "The player's name."},
        "season": {"type": "integer", "description": "The season year."},
    },
    ["player", "season"],
)


async def test_values_after_the_parameters_own_plural_make_one_call_each() -> None:
    calls = await calls_for(
        "Check the player status of Aaron Judge in seasons 2017, 2018 and 2019.", [SEASON]
    )
    assert [a["season"] for _, a in calls] == [2017, 2018, 2019]


TREE = _tool(
    "ml__decision_tree",
    "Build a decision tree classifier model.",
    {
        "criterion": {
            "type": "string",
            "enum": ["gini", "entropy"],
            "description": "The split criterion.",
        },
        "max_depth": {"type": "integer", "description": "The maximum depth of the tree."},
    },
    ["criterion", "max_depth"],
)


async def test_another_with_other_values_is_another_call() -> None:
    calls = await calls_for(
        "Build a decision tree classifier model with gini criterion and maximum depth of 5, "
        "another with entropy criterion and maximum depth of 10.",
        [TREE],
    )
    assert calls == [
        ("ml__decision_tree", {"criterion": "gini", "max_depth": 5}),
        ("ml__decision_tree", {"criterion": "entropy", "max_depth": 10}),
    ]


async def test_a_message_written_inside_quotes_is_read_as_the_request() -> None:
    calls = await calls_for(
        '"Save game progress at stage 7 in easy mode and stage 3 in hard mode."', [SAVE]
    )
    assert calls == [
        ("game__save_progress", {"stage": 7, "mode": "easy"}),
        ("game__save_progress", {"stage": 3, "mode": "hard"}),
    ]


async def test_quotes_that_close_inside_the_message_stay_quoted_values() -> None:
    calls = await calls_for(
        "'/usr/local/bin/app' is the launcher path and the launcher name is 'AppLauncher'",
        [LAUNCHER],
    )
    assert calls == [
        ("bridge__set_launcher_info", {"launcher": "/usr/local/bin/app", "name": "AppLauncher"})
    ]


GCD = _tool(
    "math__gcd",
    "Calculate the greatest common divisor of two integers.",
    {
        "num1": {"type": "integer", "description": "The first number."},
        "num2": {"type": "integer", "description": "The second number."},
    },
    ["num1", "num2"],
)
FACTORS = _tool(
    "math__prime_factors",
    "Find the prime factors of a number.",
    {"number": {"type": "integer", "description": "The number to be factored."}},
    ["number"],
)
PLAY = _tool(
    "music__play",
    "Play songs of an artist for a duration.",
    {
        "artist": {"type": "string", "description": "The artist's name."},
        "duration": {"type": "integer", "description": "The play time in minutes."},
    },
    ["artist", "duration"],
)


async def test_numbers_after_the_parameters_own_plural_make_one_call_each() -> None:
    calls = await calls_for(
        "What are the prime factors of the numbers 45, 100, and 150?", [FACTORS]
    )
    assert [a["number"] for _, a in calls] == [45, 100, 150]


async def test_items_that_repeat_their_lead_words_are_a_list() -> None:
    calls = await calls_for(
        "What is the prime factorization of the number 4567 and the number 7890?", [FACTORS]
    )
    assert [a["number"] for _, a in calls] == [4567, 7890]


async def test_pairs_in_parentheses_are_read_in_step() -> None:
    calls = await calls_for("What is the GCD of the pairs (45, 60) and (81, 27)?", [GCD])
    assert calls == [
        ("math__gcd", {"num1": 45, "num2": 60}),
        ("math__gcd", {"num1": 81, "num2": 27}),
    ]


async def test_two_lists_make_every_combination_unless_said_respectively() -> None:
    both = await calls_for("Play songs by Adele and Sting for 20 and 15 minutes.", [PLAY])
    assert len(both) == 4
    paired = await calls_for(
        "Play songs by Adele and Sting for 20 and 15 minutes respectively.", [PLAY]
    )
    assert paired == [
        ("music__play", {"artist": "Adele", "duration": 20}),
        ("music__play", {"artist": "Sting", "duration": 15}),
    ]


TAX = _tool(
    "tax__sales_tax",
    "Calculate the sales tax on a purchase amount in a city and state.",
    {
        "purchase_amount": {"type": "number", "description": "The amount of the purchase."},
        "city": {"type": "string", "description": "The city of the purchase."},
        "state": {"type": "string", "description": "The state of the purchase."},
    },
    ["purchase_amount", "city", "state"],
)


async def test_list_items_that_carry_a_qualifier_each_are_one_call_each() -> None:
    calls = await calls_for(
        "Calculate the sales tax on a purchase amount of $30.45 in Chicago, Illinois, "
        "$52.33 in Sacramento, California and $11.23 in Portland, Oregon.",
        [TAX],
    )
    assert [(a["purchase_amount"], a["city"]) for _, a in calls] == [
        (30.45, "Chicago"),
        (52.33, "Sacramento"),
        (11.23, "Portland"),
    ]


def _statistic(name: str) -> ToolSpec:
    return _tool(
        f"statistics__{name}",
        f"Calculate the {name} of a list of numbers.",
        {"data": {"type": "array", "items": {"type": "number"}, "description": "The numbers."}},
        ["data"],
    )


async def test_two_operations_named_together_in_one_clause_are_two_calls() -> None:
    tools = [_statistic("median"), _statistic("variance"), _statistic("mode")]
    calls = await calls_for("Determine the median and variance of 3, 4, 5, 2 and 8.", tools)
    assert sorted(name for name, _ in calls) == ["statistics__median", "statistics__variance"]
    assert all(a == {"data": [3, 4, 5, 2, 8]} for _, a in calls)


async def test_an_operation_named_apart_from_the_chosen_one_is_no_further_call() -> None:
    tools = [_statistic("median"), _statistic("variance")]
    calls = await calls_for("Determine the variance of 3, 4, 5, 2 and 8, not the median.", tools)
    assert [name for name, _ in calls] == ["statistics__variance"]


LCM = _tool(
    "math__lcm",
    "Calculate the least common multiple of two integers.",
    {
        "num1": {"type": "integer", "description": "The first number."},
        "num2": {"type": "integer", "description": "The second number."},
    },
    ["num1", "num2"],
)


async def test_and_the_name_of_another_operation_starts_its_request() -> None:
    calls = await calls_for(
        "Calculate the greatest common divisor (GCD) of 96 and 128, "
        "and the least common multiple (LCM) of 15 and 25.",
        [GCD, LCM],
    )
    assert sorted(calls) == [
        ("math__gcd", {"num1": 96, "num2": 128}),
        ("math__lcm", {"num1": 15, "num2": 25}),
    ]


async def test_and_the_words_of_the_only_operation_start_no_request() -> None:
    calls = await calls_for("Calculate the GCD of 96 and the GCD of 128.", [GCD])
    assert len(calls) == 1


MEDIAN = _tool(
    "stats__median",
    "Compute the median of a list of numbers.",
    {"values": {"type": "array", "items": {"type": "number"}, "description": "The numbers."}},
    ["values"],
)
SEGMENT = _tool(
    "geo__segment_length",
    "Measure the length of the segment between two points.",
    {
        "start": {"type": "array", "items": {"type": "number"}, "description": "One end."},
        "end": {"type": "array", "items": {"type": "number"}, "description": "The other end."},
        "digits": {"type": "integer", "description": "Decimal digits to round to."},
    },
    ["start", "end"],
)


async def test_lists_in_brackets_for_an_array_parameter_make_one_call_each() -> None:
    text = "Compute the median of two batches: the first is [4, 8, 1], the second [9, 3, 5, 7]."
    assert await calls_for(text, [MEDIAN]) == [
        ("stats__median", {"values": [4, 8, 1]}),
        ("stats__median", {"values": [9, 3, 5, 7]}),
    ]


async def test_lists_in_brackets_read_by_two_parameters_go_in_turn() -> None:
    text = (
        "Measure the segment length from [0, 0] to [3, 4], "
        "and then the segment length from [1, 1] to [4, 5]."
    )
    assert await calls_for(text, [SEGMENT]) == [
        ("geo__segment_length", {"start": [0, 0], "end": [3, 4]}),
        ("geo__segment_length", {"start": [1, 1], "end": [4, 5]}),
    ]


async def test_numbers_inside_brackets_are_no_list_for_a_scalar_parameter() -> None:
    text = "Measure the segment length from [2, 3] to [6, 6], with 3 digits."
    calls = await calls_for(text, [SEGMENT])
    assert calls == [("geo__segment_length", {"start": [2, 3], "end": [6, 6], "digits": 3})]


async def test_a_clause_that_does_the_same_again_repeats_the_request_before() -> None:
    text = "Book a hotel room in Paris for 3 nights, and then do the same for Rome and Oslo."
    assert await calls_for(text, [HOTEL]) == [
        ("travel__book_hotel", {"location": "Paris", "nights": 3}),
        ("travel__book_hotel", {"location": "Rome", "nights": 3}),
        ("travel__book_hotel", {"location": "Oslo", "nights": 3}),
    ]


async def test_the_same_again_with_no_value_of_its_own_is_no_further_call() -> None:
    text = "Book a hotel room in Paris for 3 nights, and then do the same again."
    assert await calls_for(text, [HOTEL]) == [
        ("travel__book_hotel", {"location": "Paris", "nights": 3}),
    ]


RAINFALL = _tool(
    "climate__yearly_rainfall",
    "Get the total rainfall of a city in a year.",
    {
        "city": {"type": "string", "description": "The city."},
        "year": {"type": "integer", "description": "The year."},
    },
    ["city", "year"],
)
HEAT = _tool(
    "climate__yearly_temperature",
    "Get the average temperature of a city in a year.",
    {
        "city": {"type": "string", "description": "The city."},
        "year": {"type": "integer", "description": "The year."},
    },
    ["city", "year"],
)


async def test_a_request_that_refers_back_takes_every_value_of_the_one_before() -> None:
    text = (
        "What was the yearly rainfall in Lima in 2001 and 2005? "
        "Additionally, what was the average temperature of the city in those years?"
    )
    assert await calls_for(text, [RAINFALL, HEAT]) == [
        ("climate__yearly_rainfall", {"city": "Lima", "year": 2001}),
        ("climate__yearly_rainfall", {"city": "Lima", "year": 2005}),
        ("climate__yearly_temperature", {"city": "Lima", "year": 2001}),
        ("climate__yearly_temperature", {"city": "Lima", "year": 2005}),
    ]


async def test_a_sentence_that_selects_nothing_adds_its_detail_to_the_request_before() -> None:
    text = (
        "Save the game progress at stage 4. I am playing it in hard mode. "
        "Then calculate the factorial of 5."
    )
    assert await calls_for(text, [SAVE, FACTORIAL]) == [
        ("game__save_progress", {"stage": 4, "mode": "hard"}),
        ("math__factorial", {"number": 5}),
    ]


FINAL_SPEED = _tool(
    "physics__final_speed",
    "Calculate the final speed of an object from its initial speed and the time it rolls.",
    {
        "initial_speed": {"type": "number", "description": "The initial speed in m/s."},
        "time": {"type": "number", "description": "The time in seconds."},
        "ramp": {"type": "string", "description": "The ramp, e.g. 'steep'."},
    },
    ["initial_speed", "time"],
)


async def test_each_sentence_of_an_enumeration_is_one_call() -> None:
    text = (
        "Two balls roll down ramps. The first ball has an initial speed of 2 m/s and "
        "rolls for 3 seconds. Then another one has an initial speed of 5 m/s and rolls for "
        "3 seconds. Finally, the third ball has an initial speed of 4 m/s and rolls for 6 "
        "seconds. Calculate the final speed of each."
    )
    assert await calls_for(text, [FINAL_SPEED]) == [
        ("physics__final_speed", {"initial_speed": 2, "time": 3}),
        ("physics__final_speed", {"initial_speed": 5, "time": 3}),
        ("physics__final_speed", {"initial_speed": 4, "time": 6}),
    ]


async def test_a_list_no_item_gives_goes_in_step_with_the_enumeration() -> None:
    text = (
        "Calculate the final speed on the ramps 'steep' and 'gentle'. For the first ramp, "
        "the initial speed is 1 m/s for 2 seconds. For the second ramp, the initial speed "
        "is 3 m/s for 4 seconds."
    )
    assert await calls_for(text, [FINAL_SPEED]) == [
        ("physics__final_speed", {"initial_speed": 1, "time": 2, "ramp": "steep"}),
        ("physics__final_speed", {"initial_speed": 3, "time": 4, "ramp": "gentle"}),
    ]


async def test_a_list_for_an_operation_a_word_contradicts_is_still_asked_about() -> None:
    router = OfflineRouter(today=lambda: date(2024, 6, 12))
    text = "What was the monsoon rainfall in Lima and Quito in 2001?"
    events = [e async for e in router.stream([ChatMessage("user", text)], [RAINFALL])]
    assert not [e for e in events if isinstance(e, ModelToolCall)]
