"""Follow-ups: positions in the last list, arguments from earlier calls."""

from __future__ import annotations

import json

from powerstrip.runtime import ChatMessage, ToolCall
from powerstrip.runtime.offline.followup import (
    earlier_arguments,
    last_records,
    ordinal,
    record_arguments,
)
from powerstrip.runtime.offline.params import params_of


def test_ordinals_are_positions() -> None:
    assert ordinal("delete the second one")[0] == 1  # type: ignore[index]
    assert ordinal("remove the last todo")[0] == -1  # type: ignore[index]
    assert ordinal("the 3rd please")[0] == 2  # type: ignore[index]
    assert ordinal("item #4")[0] == 3  # type: ignore[index]
    assert ordinal("delete everything") is None


HISTORY = [
    ChatMessage("user", "list alice's todos"),
    ChatMessage(
        "assistant",
        tool_calls=(ToolCall("c1", "todo__list_todos", json.dumps({"username": "alice"})),),
    ),
    ChatMessage(
        "tool",
        json.dumps({"todos": [{"id": 11, "text": "milk"}, {"id": 12, "text": "eggs"}]}),
        tool_call_id="c1",
    ),
    ChatMessage("assistant", "Called todo__list_todos ..."),
]


def test_the_last_list_result_and_earlier_arguments_come_from_history() -> None:
    records = last_records(HISTORY)
    assert records is not None
    assert records[1]["id"] == 12
    assert earlier_arguments(HISTORY) == {"username": "alice"}


def test_a_record_fills_an_id_parameter() -> None:
    params = params_of({"properties": {"todo_id": {"type": "integer"}, "username": {}}})
    assert record_arguments(params, {"id": 12, "text": "eggs"}) == {"todo_id": 12}
