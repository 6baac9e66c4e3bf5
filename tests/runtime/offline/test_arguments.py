"""Arguments from the user's words, one kind of value at a time."""

from __future__ import annotations

from datetime import date
from typing import Any

from powerstrip.runtime.offline.arguments import Filled, answer_value, fill_arguments
from powerstrip.runtime.offline.params import params_of
from powerstrip.runtime.offline.scan import scan

TODAY = date(2024, 6, 12)  # a Wednesday


def fill(properties: dict[str, Any], message: str, required: list[str] | None = None) -> Filled:
    schema = {"type": "object", "properties": properties, "required": required or []}
    return fill_arguments(schema, scan(message, TODAY))


def test_an_enum_member_is_matched_by_name_or_initials() -> None:
    league = {"league": {"type": ["string", "null"], "enum": ["AL", "NL", None]}}
    assert fill(league, "NL teams please").arguments == {"league": "NL"}
    assert fill(league, "American League standings").arguments == {"league": "AL"}
    assert fill(league, "teams in the league").arguments == {}


def test_numbers_go_to_the_parameter_named_next_to_them() -> None:
    properties = {"base": {"type": "integer"}, "height": {"type": "integer"}}
    filled = fill(properties, "a triangle with height of 5 and a base of 10", ["base", "height"])
    assert filled.arguments == {"base": 10, "height": 5}


def test_required_numbers_without_cues_are_taken_in_order() -> None:
    properties = {"a": {"type": "number"}, "b": {"type": "number"}}
    assert fill(properties, "add 2.5 and 4", ["a", "b"]).arguments == {"a": 2.5, "b": 4}


def test_number_words_percentages_and_scales_are_read() -> None:
    assert fill({"years": {"type": "integer"}}, "growth over five years").arguments == {"years": 5}
    rate = {"rate": {"type": "number", "description": "The interest rate."}}
    assert fill(rate, "at a rate of 5%", ["rate"]).arguments == {"rate": 0.05}
    amount = {"amount": {"type": "number"}}
    assert fill(amount, "an amount of 2 million", ["amount"]).arguments == {"amount": 2_000_000}


def test_a_year_fills_a_season_and_top_n_fills_a_limit() -> None:
    properties = {
        "season": {"type": ["integer", "null"]},
        "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
    }
    assert fill(properties, "top 5 teams of 2024").arguments == {"season": 2024, "limit": 5}
    assert fill(properties, "teams of 2024").arguments == {"season": 2024}


def test_booleans_follow_mentions_and_negations() -> None:
    properties = {"include_human_impact": {"type": "boolean"}}
    assert fill(properties, "forecast including human impact").arguments == {
        "include_human_impact": True
    }
    assert fill(properties, "forecast without human impact").arguments == {
        "include_human_impact": False
    }
    assert fill(properties, "a forecast").arguments == {}


def test_dates_and_ranges_follow_the_schema_format() -> None:
    properties = {
        "start_date": {"type": "string", "format": "date"},
        "end_date": {"type": "string", "format": "date"},
    }
    assert fill(properties, "sales last week").arguments == {
        "start_date": "2024-06-03",
        "end_date": "2024-06-09",
    }
    assert fill(properties, "orders from 2023-05-01").arguments == {"start_date": "2023-05-01"}
    day = {"day": {"type": "string", "format": "date"}}
    assert fill(day, "what happened yesterday", ["day"]).arguments == {"day": "2024-06-11"}
    assert fill(day, "on May 1, 2023", ["day"]).arguments == {"day": "2023-05-01"}


def test_quoted_text_and_free_text_fill_a_text_parameter() -> None:
    properties = {"username": {"type": "string"}, "todo": {"type": "string"}}
    quoted = fill(properties, "add 'walk the dog' for sam", ["username", "todo"])
    assert quoted.arguments == {"username": "sam", "todo": "walk the dog"}
    colon = fill(properties, "add a todo for bob: call mom", ["username", "todo"])
    assert colon.arguments == {"username": "bob", "todo": "call mom"}
    bare = fill(properties, "Add buy milk to alice's list", ["username", "todo"])
    assert bare.arguments == {"username": "alice", "todo": "buy milk"}


def test_names_after_cue_words_fill_people_and_places() -> None:
    place = {"location": {"type": "string", "description": "The city."}}
    assert fill(place, "air quality in San Jose today", ["location"]).arguments == {
        "location": "San Jose"
    }
    person = {"name": {"type": "string", "description": "The athlete's full name."}}
    assert fill(person, "the profile of player named Lebron James", ["name"]).arguments == {
        "name": "Lebron James"
    }


def test_arrays_take_lists_of_numbers_and_bracketed_lists() -> None:
    numbers = {"numbers": {"type": "array", "items": {"type": "number"}}}
    assert fill(numbers, "sum 1, 2 and 3.5", ["numbers"]).arguments == {"numbers": [1, 2, 3.5]}
    flows = {"cash_flows": {"type": "array", "items": {"type": "integer"}}}
    filled = fill(flows, "NPV of cash flows: [-500, 100, 200]", ["cash_flows"])
    assert filled.arguments == {"cash_flows": [-500, 100, 200]}


def test_defaults_fill_required_parameters_and_the_rest_is_missing() -> None:
    properties = {
        "unit": {"type": "string", "enum": ["metric", "imperial"], "default": "metric"},
        "username": {"type": "string", "description": "The list's owner."},
    }
    filled = fill(properties, "show the list", ["unit", "username"])
    assert filled.arguments == {"unit": "metric"}
    assert [param.name for param in filled.missing] == ["username"]


def test_a_short_answer_gives_the_value_asked_for() -> None:
    params = {
        p.name: p
        for p in params_of(
            {
                "properties": {
                    "username": {"type": "string"},
                    "todo_id": {"type": "integer"},
                    "confirm": {"type": "boolean"},
                }
            }
        )
    }
    assert answer_value(params["username"], scan("it's alice.", TODAY)) == "alice"
    assert answer_value(params["todo_id"], scan("number 7", TODAY)) == 7
    assert answer_value(params["confirm"], scan("yes please", TODAY)) is True
    assert answer_value(params["todo_id"], scan("no idea", TODAY)) is None


def test_a_nested_object_is_filled_from_its_own_properties() -> None:
    area = {
        "type": "object",
        "properties": {"width": {"type": "integer"}, "height": {"type": "integer"}},
        "required": ["width", "height"],
    }
    properties = {"area": area, "coverage": {"type": "integer"}}
    filled = fill(properties, "paint a wall with width of 20ft and height of 12ft", ["area"])
    assert filled.arguments == {"area": {"width": 20, "height": 12}}
    assert not filled.missing
    # Nothing for it in the message: still missing, never an empty object.
    assert fill(properties, "paint a wall", ["area"]).missing[0].name == "area"


def test_an_enum_member_is_matched_by_another_form_or_a_synonym() -> None:
    action = {"action": {"type": "string", "enum": ["add", "delete", "list"]}}
    assert fill(action, "remove the meeting").arguments == {"action": "delete"}
    level = {"detail_level": {"type": "string", "enum": ["summary", "detailed"]}}
    assert fill(level, "give me detail information").arguments == {"detail_level": "detailed"}
    hours = {"info": {"type": "string", "enum": ["opening_hours", "ticket_price"]}}
    assert fill(hours, "the opening hours of the museum").arguments == {"info": "opening_hours"}


def test_two_places_joined_by_and_are_two_values() -> None:
    properties = {"start_city": {"type": "string"}, "end_city": {"type": "string"}}
    filled = fill(properties, "distance between New York and Los Angeles", list(properties))
    assert filled.arguments == {"start_city": "New York", "end_city": "Los Angeles"}


def test_abbreviations_and_sentence_verbs_are_read_as_written() -> None:
    place = {"location": {"type": "string", "description": "The city."}}
    filled = fill(place, "hotels in Washington D.C. for tonight", ["location"])
    assert filled.arguments == {"location": "Washington D.C."}
    person = {"name": {"type": "string"}}
    assert fill(person, "records of Mr. Smith", ["name"]).arguments == {"name": "Mr. Smith"}
    species = {"species": {"type": "string"}, "country": {"type": "string"}}
    filled = fill(species, "Estimate the population of pandas in China", ["country"])
    assert filled.arguments["country"] == "China"
    assert filled.arguments.get("species") != "Estimate"


def test_a_count_inside_a_date_range_goes_to_a_parameter_named_by_its_unit() -> None:
    properties = {"location": {"type": "string"}, "days": {"type": "integer"}}
    filled = fill(properties, "the weather in Austin for the next 3 days", ["location", "days"])
    assert filled.arguments == {"location": "Austin", "days": 3}


def test_a_period_named_without_a_count_is_one_of_it_in_the_unit_counted() -> None:
    days = {"location": {"type": "string"}, "days": {"type": "integer"}}
    filled = fill(days, "pollen levels in Denver over the coming week", ["location", "days"])
    assert filled.arguments == {"location": "Denver", "days": 7}
    assert fill(days, "rain in Oslo for the next 2 weeks", ["days"]).arguments["days"] == 14
    months = {"months": {"type": "integer", "description": "How many months ahead."}}
    assert fill(months, "rents for the next year", ["months"]).arguments == {"months": 12}
    # A `duration` counted "in years" by its description.
    duration = {"duration": {"type": "integer", "description": "The period, in years."}}
    assert fill(duration, "over the past decade", ["duration"]).arguments == {"duration": 10}
    # Ten days are no whole number of weeks: not read as one.
    weeks = {"weeks": {"type": "integer"}}
    assert "weeks" not in fill(weeks, "the next 10 days", ["weeks"]).arguments
    # A `year` is a date, not a length: "last year" is no 1.
    year = {"year": {"type": "integer", "description": "The season's year."}}
    assert fill(year, "the champion of last year").arguments == {}
    assert fill({"num_year": {"type": "integer"}}, "the past decade").arguments == {"num_year": 10}


def test_a_rate_written_short_after_a_number_is_its_unit() -> None:
    properties = {
        "speed": {"type": "integer", "description": "The speed in kilometres per hour."},
        "model": {"type": "string", "description": "The train's model."},
    }
    filled = fill(properties, "a Shinkansen doing 300 KPH", ["speed", "model"])
    assert filled.arguments == {"speed": 300, "model": "Shinkansen"}
    assert {3, 4} <= filled.evidence  # the number and its unit


def test_the_noun_of_a_participle_compound_is_a_value() -> None:
    # "wood-fueled" is fueled by wood: `wood` is the fuel, or the option the description
    # lists ("gas-powered").
    fuel = {"fuel": {"type": "string", "description": "What the stove burns."}}
    assert fill(fuel, "heat from a wood-fueled stove", ["fuel"]).arguments == {"fuel": "wood"}
    kind = {"plant_type": {"type": "string", "description": "'coal', 'gas' or 'hydro'."}}
    filled = fill(kind, "a gas-powered plant of 400 MW", ["plant_type"])
    assert filled.arguments == {"plant_type": "gas"}


def test_currencies_are_read_as_codes_converted_from_and_to() -> None:
    properties = {
        "amount": {"type": "number"},
        "from_currency": {"type": "string", "description": "The currency to sell."},
        "to_currency": {"type": "string", "description": "The currency to buy."},
    }
    required = list(properties)
    # The one an amount is in is converted from, whichever comes first.
    filled = fill(properties, "how many Swiss francs do I get for 80 Australian dollars?", required)
    assert filled.arguments == {"amount": 80, "from_currency": "AUD", "to_currency": "CHF"}
    filled = fill(properties, "change £40 into yen", required)
    assert filled.arguments == {"amount": 40, "from_currency": "GBP", "to_currency": "JPY"}
    rate = {"base": {"type": "string", "description": "Base currency."}, "quote_currency": {}}
    filled = fill(rate, "rate from rupees to euros", ["base", "quote_currency"])
    assert filled.arguments == {"base": "INR", "quote_currency": "EUR"}
    # An enum's member as it writes the code; other words are not currencies.
    one = {"currency": {"type": "string", "enum": ["usd", "eur"]}}
    assert fill(one, "prices in euro please", ["currency"]).arguments == {"currency": "eur"}
    weight = {"item": {"type": "string", "description": "The food."}}
    assert fill(weight, "two pounds of rice", ["item"]).arguments != {"item": "GBP"}


def test_a_scale_letter_is_money_only() -> None:
    height = {"height": {"type": "number"}}
    assert fill(height, "dropped from 5000m", ["height"]).arguments == {"height": 5000}
    amount = {"amount": {"type": "number"}}
    assert fill(amount, "a loan of $5m", ["amount"]).arguments == {"amount": 5_000_000}


def test_the_name_of_a_thing_is_not_a_person() -> None:
    hotel = params_of({"properties": {"hotel_name": {"type": "string"}}})[0]
    assert not hotel.is_a("person")
    for name in ("username", "full_name", "player_name"):
        assert params_of({"properties": {name: {"type": "string"}}})[0].is_a("person")


def test_a_spelt_count_before_the_values_is_not_one_of_them() -> None:
    properties = {"num1": {"type": "integer"}, "num2": {"type": "integer"}}
    message = "the greatest common divisor of two numbers: 40 and 50"
    filled = fill(properties, message, ["num1", "num2"])
    assert filled.arguments == {"num1": 40, "num2": 50}
    assert fill({"n": {"type": "integer"}}, "roll two dice", ["n"]).arguments == {"n": 2}


def test_an_exponent_is_no_value() -> None:
    properties = {"acceleration": {"type": "number"}, "time": {"type": "number"}}
    filled = fill(properties, "accelerating at 3 m/s^2 for 5 seconds", ["acceleration", "time"])
    assert filled.arguments == {"acceleration": 3, "time": 5}


def test_an_ordinal_number_is_a_number() -> None:
    century = {"century": {"type": "integer", "description": "The century."}}
    assert fill(century, "wars of the 19th century", ["century"]).arguments == {"century": 19}


def test_names_joined_by_and_fill_a_list_whole() -> None:
    companies = {"companies": {"type": "array", "items": {"type": "string"}}}
    filled = fill(companies, "stock prices of Microsoft and Google", ["companies"])
    assert filled.arguments == {"companies": ["Microsoft", "Google"]}


def test_a_number_before_the_unit_of_a_parameter_is_evidence_for_it() -> None:
    properties = {
        "location": {"type": "string", "description": "The city."},
        "max_distance": {"type": "integer", "description": "Maximum distance in miles."},
    }
    filled = fill(properties, "restaurants within 10 miles in Seattle", ["location"])
    assert filled.arguments == {"location": "Seattle", "max_distance": 10}


def test_a_name_after_in_is_a_place_not_a_kind() -> None:
    properties = {
        "location": {"type": "string", "description": "The city."},
        "cuisine": {"type": "string", "description": "The kind of food."},
    }
    message = "restaurants with Chinese cuisine in Seattle"
    filled = fill(properties, message, ["location", "cuisine"])
    assert filled.arguments == {"location": "Seattle", "cuisine": "Chinese"}


def test_a_qualified_place_splits_when_the_qualifier_has_its_own_parameter() -> None:
    properties = {"city": {"type": "string"}, "country": {"type": "string"}}
    filled = fill(properties, "the time in London, UK", ["city", "country"])
    assert filled.arguments == {"city": "London", "country": "UK"}
    assert fill({"city": {"type": "string"}}, "in Chicago, IL", ["city"]).arguments == {
        "city": "Chicago, IL"
    }


def test_a_name_after_a_place_and_its_comma_is_its_qualifier() -> None:
    city = {"city": {"type": "string", "description": "The city."}}
    assert fill(city, "hotels in Lyon, France for May", ["city"]).arguments == {
        "city": "Lyon, France"
    }
    # A list of places is not one place; nor is a name another argument took.
    assert fill(city, "flights to Paris, Rome and Oslo", ["city"]).arguments == {"city": "Paris"}
    both = {"city": {"type": "string"}, "country": {"type": "string"}}
    filled = fill(both, "the weather in Lyon, France", ["city", "country"])
    assert filled.arguments == {"city": "Lyon", "country": "France"}


def test_the_qualifier_of_an_example_place_is_no_code_to_spell() -> None:
    place = {"location": {"type": "string", "description": "The city, e.g. New York, NY."}}
    assert fill(place, "concerts in New York City", ["location"]).arguments == {
        "location": "New York City"
    }


def test_a_lower_case_subject_before_needs_is_a_person() -> None:
    properties = {"username": {"type": "string", "description": "The list's owner."}}
    filled = fill(properties, "bob needs to renew the passport", ["username"])
    assert filled.arguments == {"username": "bob"}


def test_type_names_of_other_languages_are_read_as_json_types() -> None:
    properties = {
        "count": {"type": "long", "description": "How many copies."},
        "ratio": {"type": "double"},
        "verbose": {"type": "Boolean", "description": "Whether to be verbose."},
        "label": {"type": "String", "description": "The label."},
        "sizes": {"type": "ArrayList", "items": {"type": "int"}},
    }
    params = {p.name: p for p in params_of({"properties": properties})}
    assert [params[n].type for n in properties] == [
        "integer",
        "number",
        "boolean",
        "string",
        "array",
    ]
    assert params["sizes"].item_type == "integer"
    filled = fill(properties, "print 3 copies, verbose, label 'draft'", ["count"])
    assert filled.arguments["count"] == 3
    assert filled.arguments["verbose"] is True
    # A map that says nothing of its keys is read as a value of no declared type.
    assert params_of({"properties": {"m": {"type": "HashMap"}}})[0].type == "string"


def test_code_in_backticks_is_a_value_written_exactly() -> None:
    properties = {
        "listener": {"type": "any", "description": "The event listener to notify."},
        "name": {"type": "String", "description": "The queue's name."},
    }
    message = "open a queue named 'jobs' and notify the listener `auditListener`"
    filled = fill(properties, message, ["listener"])
    assert filled.arguments == {"listener": "auditListener", "name": "jobs"}


def test_a_compound_unit_tells_numbers_apart() -> None:
    properties = {
        "speed": {"type": "integer", "description": "The start speed in meters/second."},
        "rate": {"type": "integer", "description": "The rate of change in meters/second^2."},
        "span": {"type": "integer", "description": "How long it lasts, in seconds."},
    }
    message = "a cart going 4 meters/second, gaining 3 meters/second^2 over 9 seconds"
    filled = fill(properties, message, ["speed", "rate", "span"])
    assert filled.arguments == {"speed": 4, "rate": 3, "span": 9}


def test_a_word_of_every_name_does_not_tell_parameters_apart() -> None:
    # `value` is in both names: "starting value of $300" and "ending value of $700" are
    # told apart by "starting" and "ending", and a mention after a comma is the next value's.
    properties = {
        "starting_value": {"type": "integer"},
        "ending_value": {"type": "integer"},
    }
    message = "the ending value of $700 against a starting value of $300"
    filled = fill(properties, message, ["starting_value", "ending_value"])
    assert filled.arguments == {"starting_value": 300, "ending_value": 700}
    paid = {
        "paid_price": {"type": "integer", "description": "What was paid."},
        "resale_price": {"type": "integer", "description": "What it was resold for."},
    }
    filled = fill(paid, "a bike paid at $90, resold at $120", ["paid_price", "resale_price"])
    assert filled.arguments == {"paid_price": 90, "resale_price": 120}


def test_a_word_of_a_name_counts_in_another_form() -> None:
    properties = {"deceleration": {"type": "integer"}, "mass": {"type": "integer"}}
    filled = fill(properties, "a mass of 3 decelerating at 7", ["mass", "deceleration"])
    assert filled.arguments == {"deceleration": 7, "mass": 3}


def test_a_flag_negated_after_its_words_is_false() -> None:
    properties = {"keep_backup": {"type": "boolean", "description": "Keep a backup."}}
    assert fill(properties, "save it, the backup is not kept").arguments == {"keep_backup": False}
    assert fill(properties, "save it and keep a backup").arguments == {"keep_backup": True}


def test_a_season_of_two_years_is_kept_as_written() -> None:
    season = {"season": {"type": "string", "description": "The season."}}
    assert fill(season, "standings in the 2021-2022 season", ["season"]).arguments == {
        "season": "2021-2022"
    }
    year = {"year": {"type": "string", "description": "The year."}}
    assert fill(year, "rainfall of Peru in 2019", ["year"]).arguments == {"year": "2019"}
    # Years that are not one after the other are a span, not a season.
    assert fill(season, "games from 2015-2021").arguments == {}


def test_words_joined_by_and_fill_a_list_of_strings() -> None:
    produce = {"items": {"type": "array", "items": {"type": "string"}, "description": "Items."}}
    filled = fill(produce, "is there a sale on pears, plums and sweet corn today?", ["items"])
    assert filled.arguments == {"items": ["pears", "plums", "sweet corn"]}
    # A count before an item is not part of it, nor is the request's verb.
    filled = fill(produce, "order four melons and two dozen limes", ["items"])
    assert filled.arguments == {"items": ["melons", "limes"]}
    traits = {"traits": {"type": "array", "items": {"type": "string"}}}
    filled = fill(traits, "describe someone calm, tidy and easy going", ["traits"])
    assert filled.arguments == {"traits": ["calm", "tidy", "easy going"]}


def test_a_route_starts_after_from_and_ends_after_to() -> None:
    properties = {
        "origin": {"type": "string", "description": "The city to leave from."},
        "destination": {"type": "string", "description": "The city to arrive in."},
    }
    filled = fill(properties, "a train to Lyon from Geneva", ["origin", "destination"])
    assert filled.arguments == {"origin": "Geneva", "destination": "Lyon"}
    filled = fill(properties, "buses between Porto and Braga", ["origin", "destination"])
    assert filled.arguments == {"origin": "Porto", "destination": "Braga"}


def test_a_point_in_parentheses_is_a_list_of_numbers() -> None:
    point = {"type": "array", "items": {"type": "number"}}
    properties = {"a": point, "b": point}
    filled = fill(properties, "from (51.5, -0.12) to (48.85 N, 2.35 W)", ["a", "b"])
    assert filled.arguments == {"a": [51.5, -0.12], "b": [48.85, -2.35]}


def test_a_flag_is_named_by_another_form_of_its_word() -> None:
    properties = {"normalize": {"type": "boolean", "description": "Normalize the data."}}
    assert fill(properties, "fit the model, with normalization").arguments == {"normalize": True}


def test_the_value_is_the_name_after_named_not_the_kind_before_it() -> None:
    properties = {"parser": {"type": "any", "description": "The parser to configure."}}
    message = "set up a `JsonParser` instance named `orderParser` for the feed"
    assert fill(properties, message, ["parser"]).arguments == {"parser": "orderParser"}


def test_a_list_typed_in_a_language_takes_a_variable_by_name() -> None:
    array = {"type": "Array", "items": {"type": "String"}, "description": "The rows."}
    filled = fill({"rows": array}, "sum the rows in the array `monthlyRows`", ["rows"])
    assert filled.arguments == {"rows": "monthlyRows"}
    # A JSON Schema array still takes a list.
    plain = {"type": "array", "items": {"type": "string"}, "description": "The rows."}
    filled = fill({"rows": plain}, "sum the rows in the array `monthlyRows`", ["rows"])
    assert filled.arguments == {"rows": ["monthlyRows"]}


def test_bounds_after_from_and_to_go_to_start_and_end() -> None:
    properties = {"end_x": {"type": "number"}, "start_x": {"type": "number"}}
    filled = fill(properties, "integrate from x = -1 to x = 4", ["end_x", "start_x"])
    assert filled.arguments == {"end_x": 4, "start_x": -1}


def test_the_parameter_s_own_word_in_capitals_is_no_value() -> None:
    properties = {"pageId": {"type": "String", "description": "The ID of the page to open."}}
    filled = fill(properties, "open the page with the ID 'homePage'", ["pageId"])
    assert filled.arguments == {"pageId": "homePage"}


def test_a_name_with_the_kind_of_thing_in_it_is_taken_whole() -> None:
    properties = {
        "library_name": {"type": "string", "description": "The name of the library."},
        "city": {"type": "string", "description": "The city."},
    }
    message = "When does the Central Library of Oslo open? It is in Oslo, I think."
    filled = fill(properties, message, ["library_name"])
    assert filled.arguments["library_name"] == "Central Library of Oslo"
    message = "Is there a reading room in Library Borealis, Tromso?"
    filled = fill(properties, message, ["library_name", "city"])
    assert filled.arguments == {"library_name": "Library Borealis", "city": "Tromso"}


def test_a_capital_the_mid_sentence_belongs_to_the_name() -> None:
    properties = {"band": {"type": "string", "description": "The band's name."}}
    filled = fill(properties, "when is the next show of The Lumineers", ["band"])
    assert filled.arguments == {"band": "The Lumineers"}
    filled = fill(properties, "The Lumineers tour dates", ["band"])
    assert filled.arguments == {"band": "Lumineers"}


def test_a_word_run_into_a_parameter_s_name_mentions_it() -> None:
    properties = {
        "film": {"type": "string", "description": "The film."},
        "username": {"type": "string", "description": "The account's login."},
    }
    filled = fill(properties, "as user 'kim', rate 'Dune'", ["film", "username"])
    assert filled.arguments == {"film": "Dune", "username": "kim"}


def test_a_quoted_name_right_before_its_parameter_s_word_is_its_value() -> None:
    properties = {
        "table": {"type": "string", "description": "The table to read."},
        "owner": {"type": "string", "description": "Who owns the rows."},
    }
    filled = fill(properties, "read the 'orders' table to 'Ravi'", ["table"])
    assert filled.arguments["table"] == "orders"


def test_a_code_that_starts_a_longer_name_is_no_option() -> None:
    properties = {"cup": {"type": "string", "description": "The cup, e.g. FIFA World Cup."}}
    filled = fill(properties, "who won the FIFA Club World Cup", ["cup"])
    assert filled.arguments == {"cup": "FIFA Club World Cup"}


def test_a_kind_is_not_the_request_s_verb_nor_a_word_of_its_description() -> None:
    properties = {
        "flavour": {"type": "string", "description": "The flavour to blend, e.g. vanilla."},
        "size": {"type": "string", "description": "The cup size."},
    }
    filled = fill(properties, "Mix vanilla shake in a large cup", ["flavour"])
    assert filled.arguments["flavour"] == "vanilla"


def test_a_kind_is_no_unit_and_no_other_parameter_s_word() -> None:
    properties = {
        "fuel": {"type": "string", "description": "What the heater burns."},
        "hours": {"type": "integer", "description": "How long it runs."},
        "verbose": {"type": "boolean", "description": "Whether to explain."},
    }
    message = "cost of a heater run 5 hours on propane, verbose"
    filled = fill(properties, message, ["fuel", "hours"])
    assert filled.arguments == {"fuel": "propane", "hours": 5, "verbose": True}


def test_numbered_parameters_take_words_in_the_order_written() -> None:
    properties = {
        "metal1": {"type": "string", "description": "The first metal of the alloy."},
        "metal2": {"type": "string", "description": "The second metal of the alloy."},
    }
    filled = fill(properties, "melt copper and tin into an alloy", ["metal1", "metal2"])
    assert filled.arguments == {"metal1": "copper", "metal2": "tin"}


def test_an_apostrophe_inside_a_word_does_not_end_a_single_quote() -> None:
    properties = {"text": {"type": "string", "description": "The text to read aloud."}}
    message = "read aloud the line 'It's late, isn't it?' to me"
    filled = fill(properties, message, ["text"])
    assert filled.arguments == {"text": "It's late, isn't it?"}


def test_an_email_a_path_and_a_domain_are_read_whole_where_asked_for() -> None:
    properties = {
        "recipient": {"type": "string", "description": "The email address to write to."},
        "attachment": {"type": "string", "description": "The path of the file to attach."},
    }
    message = "mail Ana Lima at ana.lima@mail.example.net the report ~/reports/q3.pdf"
    filled = fill(properties, message, ["recipient", "attachment"])
    assert filled.arguments == {
        "recipient": "ana.lima@mail.example.net",
        "attachment": "~/reports/q3.pdf",
    }
    properties = {"site": {"type": "string", "description": "The website to check."}}
    filled = fill(properties, "is Tidepools.org up? ask Ben", ["site"])
    assert filled.arguments == {"site": "Tidepools.org"}
