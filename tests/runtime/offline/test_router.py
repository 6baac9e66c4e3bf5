"""The router as a `Model`: calls, questions, abstentions, answers, never a crash."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from powerstrip.errors import ModelError
from powerstrip.runtime import (
    ChatMessage,
    ModelDone,
    ModelEvent,
    ModelTextDelta,
    ModelToolCall,
    SamplingOptions,
    ToolCall,
    ToolSpec,
)
from powerstrip.runtime.offline import OfflineRouter
from powerstrip.runtime.offline.router import RECENT_TURNS

pytestmark = pytest.mark.anyio

ADD = ToolSpec(
    "todo__add_todo",
    "Add a todo to the named user's list.",
    {
        "type": "object",
        "properties": {
            "username": {"type": "string", "description": "The list's owner."},
            "todo": {"type": "string", "description": "What to do."},
        },
        "required": ["username", "todo"],
    },
)
TOOLS = [ADD]


async def run(
    messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] = TOOLS
) -> list[ModelEvent]:
    router = OfflineRouter(today=lambda: date(2024, 6, 12))
    return [event async for event in router.stream(messages, tools)]


def text_of(events: list[ModelEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, ModelTextDelta))


async def test_its_name_is_offline() -> None:
    assert OfflineRouter().name == "offline"


async def test_sampling_options_change_nothing_it_answers_by_rules() -> None:
    messages = [ChatMessage("system", "…"), ChatMessage("user", "add 'milk' for ann")]
    router = OfflineRouter(today=lambda: date(2024, 6, 12))
    sampling = SamplingOptions(temperature=2.0, max_tokens=1, stop=("milk",), seed=1)
    sampled = [event async for event in router.stream(messages, TOOLS, sampling=sampling)]
    plain = await run(messages)

    def without_ids(events: list[ModelEvent]) -> list[object]:
        return [
            (e.call.name, e.call.arguments) if isinstance(e, ModelToolCall) else e for e in events
        ]

    # The same call (whole arguments, though max_tokens is 1), only its fresh id differs.
    assert without_ids(sampled) == without_ids(plain)


async def test_a_clear_request_becomes_one_tool_call() -> None:
    events = await run([ChatMessage("system", "…"), ChatMessage("user", "add 'milk' for ann")])
    call = next(e.call for e in events if isinstance(e, ModelToolCall))
    assert call.name == "todo__add_todo"
    assert json.loads(call.arguments) == {"username": "ann", "todo": "milk"}
    assert events[-1] == ModelDone("tool_calls")


async def test_a_missing_argument_is_asked_for_and_the_answer_is_used() -> None:
    first = ChatMessage("user", "add 'milk' to my list")
    events = await run([first])
    question = text_of(events)
    assert question.startswith("To call `todo__add_todo` I need `username`")
    assert not any(isinstance(e, ModelToolCall) for e in events)
    events = await run([first, ChatMessage("assistant", question), ChatMessage("user", "ann")])
    call = next(e.call for e in events if isinstance(e, ModelToolCall))
    assert json.loads(call.arguments) == {"username": "ann", "todo": "milk"}


async def test_a_long_reply_to_a_question_is_a_new_request() -> None:
    first = ChatMessage("user", "add 'milk' to my list")
    question = text_of(await run([first]))
    new = "actually, never mind that, what is the capital city of the country of France today?"
    events = await run([first, ChatMessage("assistant", question), ChatMessage("user", new)])
    assert text_of(events).startswith("I did not call any plugin")


async def test_tool_results_are_rendered_with_the_call_that_made_them() -> None:
    call = ToolCall("c1", "todo__add_todo", '{"username": "ann", "todo": "milk"}')
    history = [
        ChatMessage("user", "add 'milk' for ann"),
        ChatMessage("assistant", None, tool_calls=(call,)),
        ChatMessage("tool", '{"id": 1, "text": "milk"}', tool_call_id="c1"),
    ]
    events = await run(history)
    text = text_of(events)
    assert text.startswith('Called todo__add_todo with {"username": "ann", "todo": "milk"}.')
    assert "- text: milk" in text
    assert events[-1] == ModelDone("stop")


async def test_without_tools_it_says_nothing_can_be_called() -> None:
    assert "No plugin is enabled" in text_of(await run([ChatMessage("user", "hi")], []))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
schemas = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.dictionaries(
        st.sampled_from(["type", "enum", "items", "default", "description", "format", "minimum"]),
        json_values | st.sampled_from(["string", "integer", "number", "array", "boolean"]),
        max_size=4,
    ),
    max_size=4,
).map(lambda props: {"type": "object", "properties": props, "required": list(props)[:2]})
tools = st.lists(
    st.builds(ToolSpec, st.text(min_size=1, max_size=20), st.text(max_size=60), schemas),
    max_size=4,
)
messages = st.lists(
    st.builds(
        ChatMessage,
        st.sampled_from(["user", "assistant", "tool", "system"]),
        st.none() | st.text(max_size=120),
    ),
    min_size=0,
    max_size=4,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=messages, tool_list=tools)
def test_any_history_and_tools_give_events_or_a_model_error(
    history: list[ChatMessage], tool_list: list[ToolSpec]
) -> None:
    import anyio

    async def drive() -> None:
        try:
            events = await run(history, tool_list)
        except ModelError:
            return
        assert isinstance(events[-1], ModelDone)

    anyio.run(drive)


def _chatter(turns: int) -> list[ChatMessage]:
    return [
        message
        for _ in range(turns)
        for message in (ChatMessage("user", "hi"), ChatMessage("assistant", "Hello."))
    ]


async def test_only_the_recent_turns_are_read() -> None:
    call = ToolCall("c1", "todo__add_todo", '{"username": "ann", "todo": "milk"}')
    given = [
        ChatMessage("user", "add 'milk' for ann"),
        ChatMessage("assistant", None, tool_calls=(call,)),
        ChatMessage("tool", '{"id": 1, "text": "milk"}', tool_call_id="c1"),
        ChatMessage("assistant", "Added."),
    ]
    request = ChatMessage("user", "also add 'eggs'")
    # A name the user gave a few turns ago is carried over ...
    events = await run([*given, *_chatter(2), request])
    made = next(e.call for e in events if isinstance(e, ModelToolCall))
    assert json.loads(made.arguments) == {"username": "ann", "todo": "eggs"}
    # ... one given before the recent turns is not read: the router asks, as in a new chat.
    events = await run([*given, *_chatter(RECENT_TURNS), request])
    assert text_of(events).startswith("To call `todo__add_todo` I need `username`")
    # However long the conversation, the decision is the one its recent turns give.
    recent = [*given, *_chatter(2), request]
    long = [*_chatter(200), *recent]
    events = await run(long)
    made = next(e.call for e in events if isinstance(e, ModelToolCall))
    assert json.loads(made.arguments) == {"username": "ann", "todo": "eggs"}
