"""OpenAICompatModel against real servers on loopback: ScriptedModelServer and tiny raw apps."""

from __future__ import annotations

import gzip
import json
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from powerstrip.errors import ModelError
from powerstrip.runtime.model import (
    ChatMessage,
    Model,
    ModelDone,
    ModelEvent,
    ModelTextDelta,
    ModelToolCall,
    SamplingOptions,
    ToolCall,
    ToolSpec,
)
from powerstrip.runtime.openai_compat import OpenAICompatModel
from powerstrip.testing import (
    BreakStream,
    CallTool,
    CallTools,
    Delay,
    Fail,
    LoopbackServer,
    Reply,
    Respond,
    ScriptedModelServer,
)

pytestmark = [pytest.mark.anyio, pytest.mark.network]

KEY = "sk-test-SECRET-123"
MESSAGES = (
    ChatMessage("system", "You are a weather assistant."),
    ChatMessage("user", "What's the weather in Paris?"),
)
WEATHER = ToolSpec(
    name="get_weather",
    description="The current weather in a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)


@pytest.fixture
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(expected_api_key=KEY) as running:
        yield running


@pytest.fixture
async def model(server: ScriptedModelServer) -> AsyncIterator[OpenAICompatModel]:
    async with OpenAICompatModel(server.base_url, "gpt-test", KEY, max_retries=0) as backend:
        yield backend


async def collect(
    model: OpenAICompatModel,
    messages: tuple[ChatMessage, ...] = MESSAGES,
    tools: tuple[ToolSpec, ...] = (),
) -> list[ModelEvent]:
    return [event async for event in model.stream(messages, tools)]


async def failure(model: OpenAICompatModel, tools: tuple[ToolSpec, ...] = ()) -> ModelError:
    with pytest.raises(ModelError) as caught:
        await collect(model, tools=tools)
    error = caught.value
    assert KEY not in str(error)
    assert KEY not in repr(error)
    assert KEY not in repr(error.args)
    # Nothing that may quote the key is chained to it (and printed with its traceback).
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    return error


async def drain(events: AsyncIterator[ModelEvent], into: list[ModelEvent]) -> None:
    async for event in events:
        into.append(event)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- answers --------------------------------------------------------------------------------


async def test_text_streams_as_deltas_that_join_to_the_reply(
    server: ScriptedModelServer, model: OpenAICompatModel
) -> None:
    server.push(Reply("It is sunny in Paris, 24 degrees."))
    events = await collect(model)
    deltas = [e for e in events if isinstance(e, ModelTextDelta)]
    assert len(deltas) > 1
    assert "".join(d.text for d in deltas) == "It is sunny in Paris, 24 degrees."
    done = events[-1]
    assert isinstance(done, ModelDone)
    assert done.finish_reason == "stop"
    assert done.prompt_tokens is not None
    assert done.prompt_tokens > 0
    assert done.completion_tokens is not None
    assert done.completion_tokens > 0
    assert events[:-1] == deltas


async def test_a_tool_call_comes_out_whole_with_exact_arguments(
    server: ScriptedModelServer, model: OpenAICompatModel
) -> None:
    arguments = '{"city": "Paris", "note": "caf\\u00e9 \\"quoted\\", commas, {braces}"}'
    server.push(CallTool("get_weather", arguments, id="call_abc"))
    events = await collect(model, tools=(WEATHER,))
    assert events[0] == ModelToolCall(ToolCall("call_abc", "get_weather", arguments))
    assert isinstance(events[1], ModelDone)
    assert events[1].finish_reason == "tool_calls"
    assert len(events) == 2


async def test_parallel_tool_calls_come_out_in_order(
    server: ScriptedModelServer, model: OpenAICompatModel
) -> None:
    server.push(
        CallTools(
            [
                CallTool("get_weather", {"city": "Paris"}, id="call_1"),
                CallTool("get_weather", {"city": "Lyon"}, id="call_2"),
            ]
        )
    )
    events = await collect(model, tools=(WEATHER,))
    assert events[:2] == [
        ModelToolCall(ToolCall("call_1", "get_weather", '{"city": "Paris"}')),
        ModelToolCall(ToolCall("call_2", "get_weather", '{"city": "Lyon"}')),
    ]
    done = events[2]
    assert isinstance(done, ModelDone)
    assert done.finish_reason == "tool_calls"
    assert len(events) == 3


async def test_the_request_is_exactly_messages_tools_and_streaming(
    server: ScriptedModelServer, model: OpenAICompatModel
) -> None:
    call = ToolCall("call_1", "get_weather", '{"city": "Paris"}')
    conversation = (
        *MESSAGES,
        ChatMessage("assistant", None, tool_calls=(call,)),
        ChatMessage("tool", '{"temperature": 24}', tool_call_id="call_1"),
    )
    server.push(CallTool("get_weather", {"city": "Paris"}, id="call_1"))
    server.push(Respond(lambda body: Reply(f"Tool said {body['messages'][-1]['content']}")))
    await collect(model, tools=(WEATHER,))
    events = await collect(model, conversation, (WEATHER,))
    assert "".join(e.text for e in events if isinstance(e, ModelTextDelta)) == (
        'Tool said {"temperature": 24}'
    )
    first, second = server.requests
    assert first == {
        "model": "gpt-test",
        "messages": [message.as_openai() for message in MESSAGES],
        "tools": [WEATHER.as_openai_tool()],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert second["messages"] == [message.as_openai() for message in conversation]
    assert second["messages"][2]["tool_calls"][0]["function"]["arguments"] == call.arguments


async def test_no_tools_and_no_usage_leave_those_fields_out(
    server: ScriptedModelServer,
) -> None:
    server.push(Reply("Hi"))
    async with OpenAICompatModel(
        server.base_url, "gpt-test", KEY, max_retries=0, include_usage=False
    ) as model:
        events = await collect(model)
    assert server.requests == [
        {
            "model": "gpt-test",
            "messages": [message.as_openai() for message in MESSAGES],
            "stream": True,
        }
    ]
    assert events[-1] == ModelDone("stop", None, None)


async def test_sampling_options_go_into_the_request_in_chat_completions_names(
    server: ScriptedModelServer, model: OpenAICompatModel
) -> None:
    schema = {"name": "answer", "schema": {"type": "object"}, "strict": True}
    sampling = SamplingOptions(
        temperature=0.0,
        top_p=0.5,
        max_tokens=64,
        stop=("END", "STOP"),
        seed=7,
        presence_penalty=0.25,
        frequency_penalty=-0.5,
        response_format={"type": "json_schema", "json_schema": schema},
    )
    server.push(Reply("{}"), Reply("Hi"))
    [event async for event in model.stream(MESSAGES, (), sampling=sampling)]
    [event async for event in model.stream(MESSAGES, (), sampling=SamplingOptions())]
    sent, plain = server.requests
    assert {key: sent[key] for key in sent if key not in plain} == {
        "temperature": 0.0,
        "top_p": 0.5,
        "max_completion_tokens": 64,
        "stop": ["END", "STOP"],
        "seed": 7,
        "presence_penalty": 0.25,
        "frequency_penalty": -0.5,
        "response_format": {"type": "json_schema", "json_schema": schema},
    }
    # Options left unset are not sent: the server's defaults stay.
    assert set(plain) == {"model", "messages", "stream", "stream_options"}


async def test_it_is_a_model_with_a_name(model: OpenAICompatModel) -> None:
    backend: Model = model
    assert backend.name == "openai:gpt-test"
    assert KEY not in repr(model)
    assert "gpt-test" in repr(model)


# -- failures -------------------------------------------------------------------------------


async def test_a_server_error_becomes_a_model_error(
    server: ScriptedModelServer, model: OpenAICompatModel
) -> None:
    server.push(Fail(500))
    error = await failure(model)
    assert "HTTP 500: Scripted failure (HTTP 500)" in error.message
    assert error.where == f"{server.base_url}, model gpt-test"
    assert error.fix is not None
    assert "logs" in error.fix


async def test_a_refused_key_becomes_a_model_error_without_the_key(
    server: ScriptedModelServer,
) -> None:
    async with OpenAICompatModel(server.base_url, "gpt-test", "sk-wrong-KEY-456") as model:
        with pytest.raises(ModelError) as caught:
            await collect(model)
    assert "HTTP 401: Incorrect API key provided" in str(caught.value)
    assert "sk-wrong-KEY-456" not in str(caught.value)
    assert caught.value.fix is not None
    assert "API key" in caught.value.fix


async def test_a_key_echoed_by_the_server_is_redacted(
    server: ScriptedModelServer, model: OpenAICompatModel, caplog: pytest.LogCaptureFixture
) -> None:
    # Real servers do this: "Incorrect API key provided: sk-...". Some quote it whole.
    echo = {"error": {"message": f"Incorrect API key provided: {KEY}", "code": "invalid"}}
    server.push(Fail(401, echo), BreakStream(1, Reply(f"a stream that quotes {KEY} and breaks")))
    caplog.set_level(logging.DEBUG)
    error = await failure(model)
    assert "HTTP 401: Incorrect API key provided: [redacted]" in str(error)
    await failure(model)
    assert KEY not in caplog.text
    assert "model request failed" in caplog.text


async def test_a_stream_broken_mid_way_becomes_a_model_error(
    server: ScriptedModelServer, model: OpenAICompatModel
) -> None:
    server.push(BreakStream(after_chunks=3, reply=Reply("one two three four five")))
    received: list[ModelEvent] = []
    with pytest.raises(ModelError) as caught:
        await drain(model.stream(MESSAGES, ()), into=received)
    assert received == [ModelTextDelta("one"), ModelTextDelta(" two")]
    assert "stream broke off after 3 chunks" in caught.value.message
    assert "incomplete chunked read" in caught.value.message
    assert KEY not in str(caught.value)


async def test_an_unreachable_server_becomes_a_model_error() -> None:
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    async with OpenAICompatModel(base_url, "gpt-test", KEY, max_retries=0) as model:
        error = await failure(model)
    assert error.message.startswith("could not reach the model server (ConnectError:")
    assert error.where == f"{base_url}, model gpt-test"
    assert error.fix is not None
    assert "running" in error.fix


async def test_a_slow_server_times_out_into_a_model_error(server: ScriptedModelServer) -> None:
    server.push(Delay(5, then=Reply("too late")))
    async with OpenAICompatModel(
        server.base_url, "gpt-test", KEY, timeout=0.5, max_retries=0
    ) as model:
        error = await failure(model)
    assert error.message == "the model server did not answer within 0.5 s"
    assert error.fix is not None
    assert "timeout" in error.fix


async def test_a_not_found_model_says_to_check_the_name_and_url(
    server: ScriptedModelServer, model: OpenAICompatModel
) -> None:
    server.push(Fail(404, {"error": {"message": "The model `gpt-test` does not exist"}}))
    error = await failure(model)
    assert "HTTP 404: The model `gpt-test` does not exist" in error.message
    assert error.fix is not None
    assert "/v1" in error.fix


async def test_an_environment_key_is_never_sent_in_place_of_none(
    server: ScriptedModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    async with OpenAICompatModel(server.base_url, "gpt-test", None, max_retries=0) as model:
        error = await failure(model)
    assert "HTTP 401" in error.message


async def test_a_keyless_server_is_reachable_without_a_key() -> None:
    with ScriptedModelServer([Reply("no key needed")]) as server:
        async with OpenAICompatModel(server.base_url, "local", None) as model:
            events = await collect(model)
    assert events[0] == ModelTextDelta("no")


async def test_credentials_in_the_base_url_stay_out_of_errors() -> None:
    port = closed_port()
    base_url = f"http://user:{KEY}@127.0.0.1:{port}/v1"
    async with OpenAICompatModel(base_url, "gpt-test", "other-key", max_retries=0) as model:
        with pytest.raises(ModelError) as caught:
            await collect(model)
        assert KEY not in repr(model)
    assert caught.value.where == f"http://127.0.0.1:{port}/v1, model gpt-test"
    assert KEY not in str(caught.value)


# -- servers that break the format: tiny raw apps --------------------------------------------


def raw_stream_server(*data_lines: str) -> LoopbackServer:
    """A server that answers every chat completion with these SSE `data:` lines."""

    async def completions(request: Request) -> Response:
        body = "".join(f"data: {line}\n\n" for line in data_lines)
        return Response(body, media_type="text/event-stream")

    return LoopbackServer(
        Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])
    )


def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }
    )


async def test_a_chunk_that_is_not_json_becomes_a_model_error() -> None:
    with raw_stream_server(chunk({"content": "Hi"}), "{not json", "[DONE]") as raw:
        async with OpenAICompatModel(f"{raw.url}/v1", "m", KEY, max_retries=0) as model:
            error = await failure(model)
    assert error.message.startswith("the model server sent a malformed stream chunk (chunk 2)")
    assert error.fix is not None
    assert "OpenAI-compatible" in error.fix


async def test_a_chunk_without_choices_becomes_a_model_error() -> None:
    with raw_stream_server(json.dumps({"id": "x", "choices": "nope"}), "[DONE]") as raw:
        async with OpenAICompatModel(f"{raw.url}/v1", "m", KEY, max_retries=0) as model:
            error = await failure(model)
    assert "malformed stream chunk (chunk 1): it has no `choices` list" in error.message


async def test_an_error_event_mid_stream_becomes_a_model_error() -> None:
    error_event = json.dumps({"error": {"message": "The server is overloaded", "type": "x"}})
    with raw_stream_server(chunk({"content": "Hi"}), error_event) as raw:
        async with OpenAICompatModel(f"{raw.url}/v1", "m", KEY, max_retries=0) as model:
            error = await failure(model)
    assert error.message == (
        "the model server reported an error mid-stream after 1 chunks: The server is overloaded"
    )


async def test_calls_without_index_or_finish_reason_still_come_out_whole() -> None:
    # Some OpenAI-compatible servers send each call whole, without `index`, and just stop.
    def call(call_id: str, city: str) -> dict[str, Any]:
        arguments = json.dumps({"city": city})
        function = {"name": "get_weather", "arguments": arguments}
        return {"id": call_id, "type": "function", "function": function}

    with raw_stream_server(
        chunk({"role": "assistant", "tool_calls": [call("a", "Paris")]}),
        chunk({"tool_calls": [call("b", "Lyon")]}),
        "[DONE]",
    ) as raw:
        async with OpenAICompatModel(f"{raw.url}/v1", "m", KEY, max_retries=0) as model:
            events = await collect(model)
    assert events == [
        ModelToolCall(ToolCall("a", "get_weather", '{"city": "Paris"}')),
        ModelToolCall(ToolCall("b", "get_weather", '{"city": "Lyon"}')),
        ModelDone("tool_calls"),
    ]


# -- retries and connections: a raw app that answers from a list ----------------------------


class Answers:
    """A chat completions endpoint that gives these answers in turn and notes each caller."""

    def __init__(self, *answers: Response) -> None:
        self.answers = list(answers)
        self.clients: list[tuple[str, int]] = []
        self.server = LoopbackServer(
            Starlette(routes=[Route("/v1/chat/completions", self.completions, methods=["POST"])])
        )

    async def completions(self, request: Request) -> Response:
        assert request.client is not None
        self.clients.append((request.client.host, request.client.port))
        return self.answers.pop(0)


def stream_answer(text: str) -> Response:
    body = f"data: {chunk({'content': text})}\n\ndata: {chunk({}, 'stop')}\n\ndata: [DONE]\n\n"
    return Response(body, media_type="text/event-stream")


def refusal(status: int, **headers: str) -> Response:
    body = json.dumps({"error": {"message": f"busy ({status})"}})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def test_a_failed_request_is_retried_when_the_server_asks_and_then_answers() -> None:
    answers = Answers(
        refusal(429, **{"retry-after-ms": "20"}), refusal(503), stream_answer("at last")
    )
    with answers.server as raw:
        async with OpenAICompatModel(f"{raw.url}/v1", "m", KEY, max_retries=2) as model:
            events = await collect(model)
    assert events[0] == ModelTextDelta("at last")
    assert len(answers.clients) == 3


async def test_retries_stop_at_the_budget_and_report_the_last_answer() -> None:
    answers = Answers(
        refusal(500, **{"retry-after": "0.01"}), refusal(502, **{"retry-after": "0.01"})
    )
    with answers.server as raw:
        async with OpenAICompatModel(f"{raw.url}/v1", "m", KEY, max_retries=1) as model:
            error = await failure(model)
    assert error.message == "the model server answered HTTP 502: busy (502)"
    assert len(answers.clients) == 2


async def test_a_refusal_that_is_not_worth_repeating_is_not_retried() -> None:
    answers = Answers(
        refusal(400),
        refusal(500, **{"x-should-retry": "false"}),
        refusal(429, **{"retry-after": "3600"}),  # longer than a turn can wait
    )
    with answers.server as raw:
        async with OpenAICompatModel(f"{raw.url}/v1", "m", KEY, max_retries=2) as model:
            for status in (400, 500, 429):
                error = await failure(model)
                assert error.message == f"the model server answered HTTP {status}: busy ({status})"
    assert len(answers.clients) == 3


async def test_an_error_answer_that_is_not_openai_json_is_quoted_as_text() -> None:
    answers = Answers(
        Response("upstream connect error", status_code=502, media_type="text/plain"),
        Response('{"detail": "Not Found"}', status_code=404, media_type="application/json"),
        Response(b"", status_code=500),
    )
    with answers.server as raw:
        async with OpenAICompatModel(f"{raw.url}/v1", "m", KEY, max_retries=0) as model:
            messages = [(await failure(model)).message for _ in range(3)]
    assert messages == [
        "the model server answered HTTP 502: upstream connect error",
        'the model server answered HTTP 404: {"detail": "Not Found"}',
        "the model server answered HTTP 500: (an empty answer)",
    ]


async def test_one_connection_serves_one_completion_after_another() -> None:
    answers = Answers(*(stream_answer(f"answer {number}") for number in range(3)))
    with answers.server as raw:
        async with OpenAICompatModel(f"{raw.url}/v1", "m", KEY, max_retries=0) as model:
            texts = [await collect(model) for _ in range(3)]
    assert [events[0] for events in texts] == [ModelTextDelta(f"answer {n}") for n in range(3)]
    assert len(set(answers.clients)) == 1


async def test_a_compressed_stream_is_read_and_a_cookie_is_not_kept() -> None:
    body = f"data: {chunk({'content': 'squeezed'})}\n\ndata: [DONE]\n\n".encode()
    squeezed = Response(
        gzip.compress(body),
        media_type="text/event-stream",
        headers={"content-encoding": "gzip", "set-cookie": "session=abc; Path=/"},
    )
    answers = Answers(squeezed, stream_answer("plain"))
    cookies: list[str | None] = []

    async def completions(request: Request) -> Response:
        cookies.append(request.headers.get("cookie"))
        return await answers.completions(request)

    answers.server.app = Starlette(
        routes=[Route("/v1/chat/completions", completions, methods=["POST"])]
    )
    with answers.server as raw:
        async with OpenAICompatModel(f"{raw.url}/v1", "m", KEY, max_retries=0) as model:
            first, second = await collect(model), await collect(model)
    assert (first[0], second[0]) == (ModelTextDelta("squeezed"), ModelTextDelta("plain"))
    assert cookies == [None, None]
