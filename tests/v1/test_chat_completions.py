"""`/v1/chat/completions` and `/v1/models` through the official `openai` client."""

from __future__ import annotations

import json

import openai
import pytest

from powerstrip.testing import CallTool, Reply
from tests.v1.conftest import V1

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def test_models_lists_the_host_s_model(v1: V1) -> None:
    client = v1.client("ada")
    assert [model.id for model in client.models.list()] == ["scripted-model"]
    assert client.models.retrieve("scripted-model").owned_by == "powerstrip"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-9")


def test_a_completion_answers_with_the_model_s_text(v1: V1) -> None:
    v1.model.push(Reply("Hello from the model."))
    completion = v1.client("ada").chat.completions.create(
        model="scripted-model",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    )
    assert completion.choices[0].message.content == "Hello from the model."
    assert completion.choices[0].finish_reason == "stop"
    sent = v1.model.requests[-1]["messages"]
    # The caller's own system prompt, and no host prompt when no plugin is offered.
    assert sent == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]


def test_a_streamed_completion_arrives_in_pieces(v1: V1) -> None:
    v1.model.push(Reply("One two three."))
    stream = v1.client("ada").chat.completions.create(
        model="scripted-model",
        messages=[{"role": "user", "content": "Count"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "One two three."
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 3
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert chunks[-1].usage is not None


def test_a_client_function_call_round_trips(v1: V1) -> None:
    client = v1.client("ada")
    v1.model.push(CallTool("get_weather", {"city": "Paris"}, id="call_w1"))
    first = client.chat.completions.create(
        model="scripted-model",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    assert call.id == "call_w1"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    assert v1.model.requests[-1]["tools"] == [WEATHER]
    v1.model.push(Reply("Sunny, 21 °C."))
    second = client.chat.completions.create(
        model="scripted-model",
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            choice.message.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": "call_w1", "content": '{"sky": "sunny"}'},
        ],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert second.choices[0].message.content == "Sunny, 21 °C."
    assert v1.model.requests[-1]["messages"][-1]["role"] == "tool"


def test_a_streamed_client_function_call_comes_as_tool_call_deltas(v1: V1) -> None:
    v1.model.push(CallTool("get_weather", {"city": "Oslo"}, id="call_w2"))
    stream = v1.client("ada").chat.completions.create(
        model="scripted-model",
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[WEATHER],  # type: ignore[list-item]
        stream=True,
    )
    chunks = [c for c in stream if c.choices]
    calls = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
    assert [tc.id for tc in calls] == ["call_w2"]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_errors_come_in_openai_s_shape(v1: V1) -> None:
    client = v1.client("ada")
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(
            model="scripted-model",
            messages=[{"role": "wizard", "content": "Hi"}],  # type: ignore[list-item, misc]
        )
    assert bad.value.status_code == 400
    assert "wizard" in bad.value.message
    assert isinstance(bad.value.body, dict)
    assert bad.value.body["type"] == "invalid_request_error"
    wrong = v1.client("nobody", api_key="pst_not-a-token")
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
