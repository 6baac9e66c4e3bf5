"""Sampling options as kept in the store: Chat Completions' names, and back."""

from __future__ import annotations

from powerstrip.runtime import SamplingOptions


def test_options_survive_the_round_trip_through_their_wire_names() -> None:
    options = SamplingOptions(
        temperature=0.7,
        top_p=0.9,
        max_tokens=120,
        stop=("END", "STOP"),
        seed=7,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        response_format={"type": "json_object"},
    )
    assert SamplingOptions.from_openai(options.as_openai()) == options
    assert SamplingOptions.from_openai({}) == SamplingOptions()


def test_a_stored_value_of_the_wrong_type_is_left_out() -> None:
    read = SamplingOptions.from_openai(
        {"temperature": "hot", "max_completion_tokens": True, "stop": ["ok", 3], "seed": 1.5}
    )
    assert read == SamplingOptions(stop=("ok",))
