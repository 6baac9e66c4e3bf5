"""ScriptedModelServer: OpenAI's wire format, proven with the official `openai` client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
import openai
import pytest

import powerstrip.testing
from powerstrip.testing import (
    BreakStream,
    CallTool,
    CallTools,
    Delay,
    Fail,
    Reply,
    Respond,
    ScriptedModelServer,
)

pytestmark = pytest.mark.network

MESSAGES: list[Any] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Weather in Paris?"},
]
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
TEXT = "It is sunny in Paris,\nwith a light breeze. "


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as running:
        yield running


def client(server: ScriptedModelServer, **options: Any) -> openai.OpenAI:
    options.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=server.base_url, api_key="sk-test", **options)


def async_client(server: ScriptedModelServer, **options: Any) -> openai.AsyncOpenAI:
    options.setdefault("max_retries", 0)
    return openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", **options)


def sse_events(server: ScriptedModelServer, body: dict[str, Any]) -> list[str]:
    """The raw `data:` payloads of one streamed answer."""
    response = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    blocks = response.text.split("\n\n")
    assert blocks[-1] == ""  # every event ends with a blank line
    assert all(block.startswith("data: ") for block in blocks[:-1])
    return [block.removeprefix("data: ") for block in blocks[:-1]]


# -- the wire format through the official client -------------------------------------------


def test_streamed_text_reply_parses_with_the_sync_client(server: ScriptedModelServer) -> None:
    server.push(Reply(TEXT))
    with client(server) as openai_client:
        chunks = list(
            openai_client.chat.completions.create(
                model="gpt-test",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in chunks if c.choices]
    assert "".join(p or "" for p in pieces) == TEXT
    assert len([p for p in pieces if p]) > 3  # streamed in pieces, not in one
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert {c.model for c in chunks} == {"gpt-test"}
    assert len({c.id for c in chunks}) == 1
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == (
        chunks[-1].usage.prompt_tokens + chunks[-1].usage.completion_tokens
    )


def test_text_reply_parses_without_streaming(server: ScriptedModelServer) -> None:
    server.push(Reply(TEXT))
    with client(server) as openai_client:
        completion = openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert completion.object == "chat.completion"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == TEXT
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0


@pytest.mark.anyio
async def test_streamed_tool_calls_parse_with_the_async_client(
    server: ScriptedModelServer,
) -> None:
    server.push(
        CallTools(
            [
                CallTool("get_weather", {"city": "Paris", "unit": "celsius"}, id="call_a"),
                CallTool("get_weather", '{"city": "Lyon"}'),
            ]
        )
    )
    calls: dict[int, dict[str, str]] = {}
    finish_reasons = []
    async with async_client(server) as openai_client:
        stream = await openai_client.chat.completions.create(
            model="gpt-test", messages=MESSAGES, tools=TOOLS, stream=True
        )
        async for chunk in stream:
            assert chunk.usage is None  # not asked for
            choice = chunk.choices[0]
            finish_reasons.append(choice.finish_reason)
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                assert delta.function is not None
                call["id"] += delta.id or ""
                call["name"] += delta.function.name or ""
                call["arguments"] += delta.function.arguments or ""
    assert calls == {
        0: {
            "id": "call_a",
            "name": "get_weather",
            "arguments": '{"city": "Paris", "unit": "celsius"}',
        },
        1: {"id": "call_1", "name": "get_weather", "arguments": '{"city": "Lyon"}'},
    }
    assert finish_reasons[-1] == "tool_calls"
    assert set(finish_reasons[:-1]) == {None}


@pytest.mark.anyio
async def test_tool_call_parses_without_streaming(server: ScriptedModelServer) -> None:
    server.push(CallTool("get_weather", {"city": "Paris"}, id="call_x"))
    async with async_client(server) as openai_client:
        completion = await openai_client.chat.completions.create(
            model="gpt-test", messages=MESSAGES, tools=TOOLS
        )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    [call] = choice.message.tool_calls
    assert call.type == "function"
    assert call.id == "call_x"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


@pytest.mark.anyio
async def test_streamed_text_reply_parses_with_the_async_client(
    server: ScriptedModelServer,
) -> None:
    server.push(Reply("Hello"))
    async with async_client(server) as openai_client:
        stream = await openai_client.chat.completions.create(
            model="gpt-test", messages=MESSAGES, stream=True
        )
        text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
    assert text == "Hello"


def test_raw_stream_follows_openai_chunk_order(server: ScriptedModelServer) -> None:
    server.push(CallTool("get_weather", {"city": "Paris"}, id="call_1"))
    body = {"model": "m", "messages": MESSAGES, "stream": True}
    payloads = sse_events(server, {**body, "stream_options": {"include_usage": True}})
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    # Opening delta: role, id, type and name, with empty arguments.
    assert deltas[0] == {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "tool_calls": [
            {
                "index": 0,
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": ""},
            }
        ],
    }
    # Then arguments only, in several fragments, each naming its index.
    fragments = [d["tool_calls"][0] for d in deltas[1:-1]]
    assert len(fragments) > 1
    assert all(set(f) == {"index", "function"} and f["index"] == 0 for f in fragments)
    assert "".join(f["function"]["arguments"] for f in fragments) == '{"city": "Paris"}'
    # An empty final delta with the finish reason, then usage alone, `usage: null` before.
    assert deltas[-1] == {}
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == []
    assert set(chunks[-1]["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert all(c["usage"] is None for c in chunks[:-1])

    server.push(Reply("Hi there"))
    chunks = [json.loads(p) for p in sse_events(server, body)[:-1]]
    assert all("usage" not in c for c in chunks)  # not asked for: not sent
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant", "content": "", "refusal": None},
        {"content": "Hi"},
        {"content": " there"},
        {},
    ]


def test_models_endpoint_lists_the_configured_models() -> None:
    with (
        ScriptedModelServer(models=("small", "large")) as server,
        client(server) as openai_client,
    ):
        assert [model.id for model in openai_client.models.list()] == ["small", "large"]


# -- recording --------------------------------------------------------------------------------


def test_every_request_body_is_recorded_in_order(server: ScriptedModelServer) -> None:
    server.push(CallTool("get_weather", {"city": "Paris"}), Reply("Sunny."))
    with client(server) as openai_client:
        openai_client.chat.completions.create(model="gpt-test", messages=MESSAGES, tools=TOOLS)
        followup = [*MESSAGES, {"role": "tool", "tool_call_id": "call_1", "content": "22 C"}]
        list(
            openai_client.chat.completions.create(model="gpt-test", messages=followup, stream=True)
        )
    first, second = server.requests
    assert first == {"model": "gpt-test", "messages": MESSAGES, "tools": TOOLS}
    assert second == {"model": "gpt-test", "messages": followup, "stream": True}
    server.requests.clear()  # a copy: the record itself is unchanged
    assert len(server.requests) == 2
    assert server.remaining == ()


def test_keep_requests_keeps_only_the_last_bodies() -> None:
    with ScriptedModelServer(keep_requests=2) as server, client(server) as openai_client:
        for text in ("one", "two", "three"):
            server.push(Reply(text))
            messages = [{"role": "user", "content": text}]
            openai_client.chat.completions.create(model="gpt-test", messages=messages)
        assert [body["messages"][0]["content"] for body in server.requests] == ["two", "three"]


def test_push_appends_steps_while_the_server_runs(server: ScriptedModelServer) -> None:
    server.push(Reply("one"))
    with client(server) as openai_client:
        ask = partial(openai_client.chat.completions.create, model="m", messages=MESSAGES)
        assert ask().choices[0].message.content == "one"
        server.push(Reply("two"), Reply("three"))
        assert server.remaining == (Reply("two"), Reply("three"))
        assert [ask().choices[0].message.content for _ in range(2)] == ["two", "three"]


def test_respond_chooses_the_reply_from_the_request(server: ScriptedModelServer) -> None:
    server.push(Respond(lambda body: Reply(f"You said: {body['messages'][-1]['content']}")))
    with client(server) as openai_client:
        completion = openai_client.chat.completions.create(model="m", messages=MESSAGES)
    assert completion.choices[0].message.content == "You said: Weather in Paris?"


def test_a_failing_respond_function_is_reported(server: ScriptedModelServer) -> None:
    server.push(Respond(lambda body: Reply(body["missing"])))
    with client(server) as openai_client, pytest.raises(openai.InternalServerError) as caught:
        openai_client.chat.completions.create(model="m", messages=MESSAGES)
    assert "Respond function failed on request #1: KeyError: 'missing'" in str(caught.value)


def test_steps_are_checked_when_pushed(server: ScriptedModelServer) -> None:
    with pytest.raises(TypeError, match="script step must be one of"):
        server.push("hello")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one or more CallTool"):
        CallTools([])


# -- failures, on purpose ---------------------------------------------------------------------


def test_running_out_of_script_fails_loudly_and_once(server: ScriptedModelServer) -> None:
    server.push(Reply("only one"))
    # Default retries: the error tells the client not to retry, so it fails at once.
    with openai.OpenAI(base_url=server.base_url, api_key="sk-test") as openai_client:
        openai_client.chat.completions.create(model="m", messages=MESSAGES)
        with pytest.raises(openai.InternalServerError) as caught:
            openai_client.chat.completions.create(model="m", messages=MESSAGES)
    assert caught.value.status_code == 500
    assert "the script ran out. Request #2 arrived after all 1 scripted steps" in str(caught.value)
    assert "Weather in Paris?" in str(caught.value)
    assert len(server.requests) == 2  # not retried


def test_fail_answers_an_openai_style_http_error(server: ScriptedModelServer) -> None:
    server.push(
        Fail(),
        Fail(429, {"error": {"message": "Slow down", "type": "rate_limit", "code": None}}),
        Fail(502, "Bad gateway"),
        Reply("recovered"),
    )
    with client(server) as openai_client:
        ask = partial(openai_client.chat.completions.create, model="m", messages=MESSAGES)
        with pytest.raises(openai.InternalServerError) as server_error:
            ask()
        with pytest.raises(openai.RateLimitError) as rate_limited:
            ask()
        with pytest.raises(openai.InternalServerError) as bad_gateway:
            ask()
        assert ask().choices[0].message.content == "recovered"
    assert server_error.value.status_code == 500
    assert server_error.value.body == {
        "message": "Scripted failure (HTTP 500).",
        "type": "server_error",
        "param": None,
        "code": None,
    }
    assert "Slow down" in str(rate_limited.value)
    assert bad_gateway.value.status_code == 502
    assert bad_gateway.value.body == "Bad gateway"  # (str() says only "Error code: 502")


def test_the_client_retries_a_fail_into_the_next_step(server: ScriptedModelServer) -> None:
    server.push(Fail(503), Reply("second try"))
    with client(server, max_retries=1) as openai_client:
        completion = openai_client.chat.completions.create(model="m", messages=MESSAGES)
    assert completion.choices[0].message.content == "second try"
    assert len(server.requests) == 2


def test_break_stream_drops_the_connection_mid_stream(server: ScriptedModelServer) -> None:
    server.push(BreakStream(after_chunks=2, reply=Reply("one two three four")))
    received: list[str | None] = []

    def read_stream(openai_client: openai.OpenAI) -> None:
        stream = openai_client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        received.extend(chunk.choices[0].delta.content for chunk in stream)

    with client(server) as openai_client, pytest.raises(openai.APIConnectionError):
        read_stream(openai_client)
    assert received == ["", "one"]


def test_break_stream_cuts_a_plain_json_answer(server: ScriptedModelServer) -> None:
    server.push(BreakStream(after_chunks=20, reply=CallTool("get_weather", {"city": "Paris"})))
    with client(server) as openai_client, pytest.raises(openai.APIConnectionError):
        openai_client.chat.completions.create(model="m", messages=MESSAGES)


def test_delay_waits_before_the_next_step(server: ScriptedModelServer) -> None:
    server.push(Delay(0.3), Reply("late"), Delay(0.1, then=Reply("also late")))
    with client(server) as openai_client:
        started = time.monotonic()
        first = openai_client.chat.completions.create(model="m", messages=MESSAGES)
        assert time.monotonic() - started >= 0.3
        second = openai_client.chat.completions.create(model="m", messages=MESSAGES)
    assert first.choices[0].message.content == "late"
    assert second.choices[0].message.content == "also late"


def test_delay_makes_a_client_time_out_and_ends_when_it_leaves(
    server: ScriptedModelServer,
) -> None:
    server.push(Delay(30), Reply("never seen"), Reply("next"))
    with client(server, timeout=0.3) as openai_client:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            openai_client.chat.completions.create(model="m", messages=MESSAGES)
        assert time.monotonic() - started < 2
        # The server noticed the client leave: it answers the next request at once.
        completion = openai_client.chat.completions.create(model="m", messages=MESSAGES)
    assert completion.choices[0].message.content == "next"


# -- API keys -------------------------------------------------------------------------------


def test_a_wrong_api_key_gets_an_openai_style_401() -> None:
    with ScriptedModelServer([Reply("welcome")], expected_api_key="sk-right") as server:
        with (
            openai.OpenAI(base_url=server.base_url, api_key="sk-WRONG-key", max_retries=0) as wrong,
            pytest.raises(openai.AuthenticationError) as caught,
        ):
            wrong.chat.completions.create(model="m", messages=MESSAGES)
        assert caught.value.code == "invalid_api_key"
        assert "sk-WRONG-key" not in str(caught.value)
        with openai.OpenAI(base_url=server.base_url, api_key="sk-right") as right:
            completion = right.chat.completions.create(model="m", messages=MESSAGES)
            assert completion.choices[0].message.content == "welcome"
            assert [m.id for m in right.models.list()] == ["scripted-model"]
        # The refused request is recorded too, and did not use up the step.
        assert len(server.requests) == 2


def test_models_endpoint_checks_the_api_key() -> None:
    with ScriptedModelServer(expected_api_key="sk-right") as server:
        response = httpx.get(f"{server.base_url}/models", timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


# -- the public face --------------------------------------------------------------------------


def test_scripted_model_names_are_exported_and_documented() -> None:
    names = {
        "BreakStream",
        "CallTool",
        "CallTools",
        "Delay",
        "Fail",
        "Reply",
        "Respond",
        "ScriptStep",
        "ScriptedModelServer",
    }
    assert names <= set(powerstrip.testing.__all__)
    for name in names - {"ScriptStep"}:
        assert getattr(powerstrip.testing, name).__doc__, name


def test_base_url_is_known_before_start() -> None:
    server = ScriptedModelServer()
    try:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        assert server.url == f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


# -- speech to text ------------------------------------------------------------------------------


def test_transcriptions_play_their_own_script_in_each_format() -> None:
    audio = b"RIFF\x00\x00\x00\x00WAVE not decoded by the scripted server"
    with ScriptedModelServer(
        [Reply("a chat reply, untouched")],
        transcripts=["one", "two", "three"],
        expected_api_key="sk-scripted",
    ) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-scripted", max_retries=0)
        plain = client.audio.transcriptions.create(
            model="whisper-1", file=("a.wav", audio, "audio/wav"), language="en", prompt="Hi."
        )
        verbose = client.audio.transcriptions.create(
            model="whisper-1", file=("a.wav", audio), response_format="verbose_json"
        )
        wrong = openai.OpenAI(base_url=server.base_url, api_key="sk-wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            wrong.audio.transcriptions.create(model="whisper-1", file=("a.wav", audio))
        srt = client.audio.transcriptions.create(
            model="whisper-1", file=("a.wav", audio), response_format="srt"
        )
        with pytest.raises(openai.InternalServerError, match="transcript script ran out"):
            client.audio.transcriptions.create(model="whisper-1", file=("a.wav", audio))
        requests = server.audio_requests
        remaining = server.remaining
    assert plain.text == "one"
    assert (verbose.text, verbose.language, verbose.segments[0].text) == ("two", "english", " two")
    assert srt == "1\n00:00:00,000 --> 00:00:01,000\nthree\n"
    first = requests[0]
    assert (first.model, first.filename, first.content_type) == ("whisper-1", "a.wav", "audio/wav")
    assert (first.file, first.language, first.prompt) == (audio, "en", "Hi.")
    # The refused request is recorded, and used no transcript: "three" went to the next one.
    assert [r.response_format for r in requests[:4]] == ["json", "verbose_json", "json", "srt"]
    assert remaining == (Reply("a chat reply, untouched"),)


def test_a_transcript_step_is_text_or_a_failure() -> None:
    with pytest.raises(TypeError, match="str or a Fail"):
        ScriptedModelServer(transcripts=[Reply("not a transcript")])  # type: ignore[list-item]
