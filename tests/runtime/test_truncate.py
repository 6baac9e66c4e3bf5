"""Responses cut for the model keep whole records and say what was left out."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from powerstrip.runtime.truncate import truncate_for_model


def test_short_text_is_untouched() -> None:
    result = truncate_for_model('{"a": 1}', limit=100)
    assert (result.text, result.truncated) == ('{"a": 1}', False)


def test_a_json_array_keeps_whole_records() -> None:
    records = [{"id": i, "name": f"item {i}"} for i in range(1000)]
    result = truncate_for_model(json.dumps(records), limit=2_000)
    body, note = result.text.rsplit("\n", 1)
    kept = json.loads(body)
    assert kept == records[: len(kept)]
    assert result.omitted_records == 1000 - len(kept)
    assert f"showing {len(kept)} of 1000 records" in note
    assert len(result.text) <= 2_000


def test_an_object_shortens_its_largest_list_and_keeps_other_keys() -> None:
    value = {"total": 500, "page": 1, "results": [{"n": i} for i in range(500)]}
    result = truncate_for_model(json.dumps(value), limit=1_000)
    body, note = result.text.rsplit("\n", 1)
    kept = json.loads(body)
    assert kept["total"] == 500
    assert kept["results"] == value["results"][: len(kept["results"])]
    assert "'results' shows" in note


def test_plain_text_is_cut_with_a_marker() -> None:
    result = truncate_for_model("x" * 5_000, limit=1_000)
    assert result.truncated
    assert len(result.text) <= 1_000
    assert "characters left out" in result.text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3_000), st.integers(min_value=300, max_value=2_000))
def test_the_result_never_passes_the_limit(text: str, limit: int) -> None:
    assert len(truncate_for_model(text, limit=limit).text) <= limit
