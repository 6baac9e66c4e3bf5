"""Plugin answers as text: tables, counts, and errors as sentences."""

from __future__ import annotations

import json

from powerstrip.runtime.offline.render import MAX_ROWS, render_result
from powerstrip.runtime.truncate import truncate_for_model


def test_records_become_a_markdown_table_with_a_count() -> None:
    body = {"todos": [{"id": 1, "text": "buy milk"}, {"id": 2, "text": "walk | dog"}]}
    text = render_result(json.dumps(body))
    assert text.splitlines()[0] == "2 todos."
    assert "| id | text |" in text
    assert "| 2 | walk \\| dog |" in text


def test_a_long_list_is_summarised_with_the_reported_total() -> None:
    rows = [{"id": i, "name": f"player {i}", "team": "NYA" if i % 2 else "BOS"} for i in range(40)]
    text = render_result(json.dumps({"data": rows, "meta": {"total": 120, "returned": 40}}))
    assert text.startswith(f"Showing {MAX_ROWS} of 120 results.")
    assert text.count("\n| ") == MAX_ROWS + 2  # the header, its rule, the rows


def test_columns_equal_in_every_row_are_said_once() -> None:
    rows = [{"id": i, "season": 2024, "wins": 80 + i} for i in range(3)]
    text = render_result(json.dumps(rows))
    assert "All rows: season 2024." in text
    assert "| id | wins |" in text


def test_an_empty_list_says_so() -> None:
    assert render_result('{"todos": []}') == "No todos: the list is empty."


def test_an_object_becomes_a_list_of_fields() -> None:
    text = render_result(json.dumps({"deleted": {"id": 3, "text": "milk"}}))
    assert text == "- deleted:\n  - id: 3\n  - text: milk"


def test_http_errors_are_a_sentence_with_the_plugins_message() -> None:
    content = (
        "The plugin answered HTTP 404:\n"
        '{"error": {"code": "not_found", "message": "there is no todo with id 9"}}'
    )
    assert render_result(content) == (
        "The plugin refused the request (HTTP 404): there is no todo with id 9."
    )


def test_executor_failures_are_sentences() -> None:
    invalid = "The arguments for t__x are not valid: todo_id: 'x' is not of type 'integer'"
    assert render_result(invalid).startswith("The call was not made because the arguments")
    failed = "The call to t__x failed: the connection was refused"
    assert render_result(failed) == "The call did not complete: the connection was refused."
    declined = "The user declined this call; it was not made."
    assert render_result(declined) == "You declined this call, so it was not made."


def test_a_truncated_response_is_rendered_and_says_it_was_cut() -> None:
    rows = [{"id": i, "text": f"item {i} " + "x" * 50} for i in range(100)]
    cut = truncate_for_model(json.dumps(rows), limit=1_000)
    text = render_result(cut.text)
    assert "| id | text |" in text
    assert "The response was too long and was cut" in text


def test_plain_text_is_kept_and_long_text_is_cut_with_a_count() -> None:
    assert render_result("All good") == "All good"
    assert "(Showing 2000 of 5000 characters.)" in render_result("y" * 5000)
