"""Sampling options reach the model backend: what the scripted model server was sent."""

from __future__ import annotations

import openai
import pytest

from powerstrip.testing import Reply
from tests.v1.conftest import V1

SCHEMA = {
    "name": "weather",
    "schema": {"type": "object", "properties": {"sky": {"type": "string"}}},
    "strict": True,
}
_SAMPLING_KEYS = (
    "temperature",
    "top_p",
    "max_completion_tokens",
    "max_tokens",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "response_format",
)


def _sampling_sent(v1: V1) -> dict[str, object]:
    sent = v1.model.requests[-1]
    return {key: sent[key] for key in _SAMPLING_KEYS if key in sent}


def test_a_chat_completion_s_sampling_options_reach_the_model(v1: V1) -> None:
    client = v1.client("sampler")
    v1.model.push(Reply('{"sky": "blue"}'))
    client.chat.completions.create(
        model="scripted-model",
        messages=[{"role": "user", "content": "Sky?"}],
        temperature=0,
        top_p=0.9,
        max_completion_tokens=50,
        stop=["END"],
        seed=7,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        response_format={"type": "json_schema", "json_schema": SCHEMA},  # type: ignore[typeddict-item]
    )
    assert _sampling_sent(v1) == {
        "temperature": 0,
        "top_p": 0.9,
        "max_completion_tokens": 50,
        "stop": ["END"],
        "seed": 7,
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
        "response_format": {"type": "json_schema", "json_schema": SCHEMA},
    }


def test_the_old_max_tokens_and_a_single_stop_are_read_too(v1: V1) -> None:
    v1.model.push(Reply("Hi"))
    stream = v1.client("sampler").chat.completions.create(
        model="scripted-model",
        messages=[{"role": "user", "content": "Hi"}],
        max_tokens=12,
        stop="\n",
        response_format={"type": "text"},
        stream=True,
    )
    list(stream)
    assert _sampling_sent(v1) == {"max_completion_tokens": 12, "stop": ["\n"]}


def test_without_options_the_backend_s_defaults_stay(v1: V1) -> None:
    v1.model.push(Reply("Hi"))
    v1.client("sampler").chat.completions.create(
        model="scripted-model", messages=[{"role": "user", "content": "Hi"}]
    )
    assert _sampling_sent(v1) == {}


def test_a_bad_response_format_is_refused_before_the_model_is_asked(v1: V1) -> None:
    client = v1.client("sampler")
    asked = len(v1.model.requests)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model="scripted-model",
            messages=[{"role": "user", "content": "Hi"}],
            response_format={"type": "xml"},  # type: ignore[typeddict-item]
        )
    assert "response format type 'xml'" in refused.value.message
    with pytest.raises(openai.BadRequestError):
        client.responses.create(
            model="scripted-model", input="Hi", text={"format": {"type": "json_schema"}}
        )
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="scripted-model",
            messages=[{"role": "user", "content": "Hi"}],
            stop=["a", "b", "c", "d", "e"],
        )
    assert len(v1.model.requests) == asked


def test_a_response_s_options_and_text_format_reach_the_model(v1: V1) -> None:
    v1.model.push(Reply('{"sky": "grey"}'))
    response = v1.client("sampler").responses.create(
        model="scripted-model",
        input="Sky?",
        temperature=0.3,
        top_p=0.8,
        max_output_tokens=40,
        text={"format": {"type": "json_schema", **SCHEMA}},  # type: ignore[typeddict-item]
    )
    assert response.output_text == '{"sky": "grey"}'
    assert (response.temperature, response.max_output_tokens) == (0.3, 40)
    assert _sampling_sent(v1) == {
        "temperature": 0.3,
        "top_p": 0.8,
        "max_completion_tokens": 40,
        "response_format": {"type": "json_schema", "json_schema": SCHEMA},
    }


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the client's Assistants are
def test_a_run_takes_its_assistant_s_options_and_its_own(v1: V1) -> None:
    client = v1.client("sampler")
    assistant = client.beta.assistants.create(
        model="scripted-model", temperature=0, response_format={"type": "json_object"}
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    v1.model.push(Reply("{}"))
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=30, top_p=0.5
    )
    assert run.status == "completed"
    # temperature 0 is a value, not "unset": the assistant's 0 is kept.
    assert run.temperature == 0
    assert _sampling_sent(v1) == {
        "temperature": 0,
        "top_p": 0.5,
        "max_completion_tokens": 30,
        "response_format": {"type": "json_object"},
    }
