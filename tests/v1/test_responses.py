"""`/v1/responses` and `/v1/conversations` through the official `openai` client."""

from __future__ import annotations

import json
import time

import openai
import pytest

from powerstrip.testing import CallTool, Delay, Reply
from tests.v1.conftest import V1

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def test_a_response_answers_and_is_kept(v1: V1) -> None:
    client = v1.client("ada")
    v1.model.push(Reply("Bonjour."))
    response = client.responses.create(
        model="scripted-model", instructions="Answer in French.", input="Hello"
    )
    assert response.status == "completed"
    assert response.output_text == "Bonjour."
    assert v1.model.requests[-1]["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Hello"},
    ]
    assert client.responses.retrieve(response.id).output_text == "Bonjour."
    [item] = client.responses.input_items.list(response.id)
    assert item.type == "message"
    assert client.responses.delete(response.id) is None
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


def test_a_response_not_stored_cannot_be_retrieved(v1: V1) -> None:
    client = v1.client("ada")
    v1.model.push(Reply("Gone."))
    response = client.responses.create(model="scripted-model", input="Hi", store=False)
    assert response.output_text == "Gone."
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


def test_a_client_function_round_trips_with_previous_response_id(v1: V1) -> None:
    client = v1.client("ada")
    v1.model.push(CallTool("get_weather", {"city": "Paris"}, id="call_r1"))
    first = client.responses.create(
        model="scripted-model",
        input="Weather in Paris?",
        tools=[WEATHER],  # type: ignore[list-item]
    )
    [call] = first.output
    assert call.type == "function_call"
    assert (call.name, call.call_id) == ("get_weather", "call_r1")  # type: ignore[union-attr]
    assert json.loads(call.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    assert v1.model.requests[-1]["tools"][0]["function"]["name"] == "get_weather"
    v1.model.push(Reply("Sunny in Paris."))
    second = client.responses.create(
        model="scripted-model",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": "call_r1", "output": '{"sky": "sun"}'}],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert second.output_text == "Sunny in Paris."
    sent = v1.model.requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["tool_calls"][0]["id"] == "call_r1"
    assert sent[2] == {"role": "tool", "content": '{"sky": "sun"}', "tool_call_id": "call_r1"}


def test_a_streamed_function_call_has_argument_events(v1: V1) -> None:
    v1.model.push(CallTool("get_weather", {"city": "Rome"}))
    with v1.client("ada").responses.stream(
        model="scripted-model",
        input="Rome?",
        tools=[WEATHER],  # type: ignore[list-item]
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert "response.function_call_arguments.delta" in kinds
    assert "response.function_call_arguments.done" in kinds
    assert final.output[0].type == "function_call"


def test_a_conversation_keeps_the_turns(v1: V1) -> None:
    client = v1.client("ada")
    conversation = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "My name is Ada."}],
        metadata={"topic": "names"},
    )
    v1.model.push(Reply("Nice to meet you, Ada."))
    client.responses.create(model="scripted-model", conversation=conversation.id, input="Hi!")
    v1.model.push(Reply("You are Ada."))
    answer = client.responses.create(
        model="scripted-model", conversation=conversation.id, input="Who am I?"
    )
    assert answer.output_text == "You are Ada."
    sent = [m["content"] for m in v1.model.requests[-1]["messages"]]
    assert sent == ["My name is Ada.", "Hi!", "Nice to meet you, Ada.", "Who am I?"]
    items = client.conversations.items.list(conversation.id, order="asc")
    assert [item.type for item in items] == ["message"] * 5
    first = items.data[0]
    assert (
        client.conversations.items.retrieve(first.id, conversation_id=conversation.id).id
        == first.id
    )
    client.conversations.items.delete(first.id, conversation_id=conversation.id)
    assert len(client.conversations.items.list(conversation.id).data) == 4
    updated = client.conversations.update(conversation.id, metadata={"topic": "ada"})
    assert updated.metadata == {"topic": "ada"}
    assert client.conversations.retrieve(conversation.id).id == conversation.id
    assert client.conversations.delete(conversation.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conversation.id)


def _wait(client: openai.OpenAI, response_id: str, *statuses: str) -> str:
    for _ in range(200):
        status = client.responses.retrieve(response_id).status
        if status in statuses:
            return str(status)
        time.sleep(0.05)
    raise AssertionError(f"{response_id} stayed {status}")


def test_a_background_response_runs_and_can_be_cancelled(v1: V1) -> None:
    client = v1.client("ada")
    v1.model.push(Reply("Done in the background."))
    queued = client.responses.create(model="scripted-model", input="Work", background=True)
    assert queued.status in ("queued", "in_progress", "completed")
    assert _wait(client, queued.id, "completed") == "completed"
    assert client.responses.retrieve(queued.id).output_text == "Done in the background."

    v1.model.push(Delay(30, Reply("too late")))
    slow = client.responses.create(model="scripted-model", input="Slow", background=True)
    _wait(client, slow.id, "in_progress")
    assert client.responses.cancel(slow.id).status == "cancelled"
    assert client.responses.retrieve(slow.id).status == "cancelled"

    v1.model.push(Reply("not background"))
    plain = client.responses.create(model="scripted-model", input="Hi")
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(plain.id)


def test_a_background_responses_events_are_streamed_again_with_the_official_client(
    v1: V1,
) -> None:
    client = v1.client("ada")
    v1.model.push(Delay(0.2, Reply("Streamed again.")))
    queued = client.responses.create(model="scripted-model", input="Work", background=True)
    events = list(client.responses.retrieve(queued.id, stream=True))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].type == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "Streamed again."
    later = list(client.responses.retrieve(queued.id, stream=True, starting_after=3))
    assert [e.sequence_number for e in later] == list(range(4, len(events)))

    # Only a background response's events are kept; another user's is not found.
    v1.model.push(Reply("not background"))
    plain = client.responses.create(model="scripted-model", input="Hi")
    with pytest.raises(openai.BadRequestError, match="only a background response"):
        list(client.responses.retrieve(plain.id, stream=True))
    with pytest.raises(openai.NotFoundError):
        list(v1.client("bob").responses.retrieve(queued.id, stream=True))
