"""A scripted OpenAI-compatible model server on loopback, for tests that need a model.

`ScriptedModelServer` is a real HTTP server that speaks the OpenAI Chat Completions wire format
(`POST /v1/chat/completions`, streaming and not, and `GET /v1/models`). Instead of thinking, it
plays the replies you scripted, one per request, in order, and records every request body it
was sent, so a test can check exactly what the host told the model::

    from powerstrip.testing import CallTool, Reply, ScriptedModelServer

    script = [CallTool("get_weather", {"city": "Paris"}), Reply("Sunny in Paris.")]
    with ScriptedModelServer(script) as model:
        host = make_host(model_base_url=model.base_url)  # http://127.0.0.1:PORT/v1
        ...
        assert model.requests[0]["tools"][0]["function"]["name"] == "get_weather"
        assert model.requests[1]["messages"][-1]["role"] == "tool"

Script steps:

- `Reply(text)`: answer in text (streamed word by word).
- `CallTool(name, arguments)`: ask for one tool call; `CallTools([...])` for parallel calls.
- `Fail(status, body)`: answer with an HTTP error.
- `BreakStream(after_chunks)`: start answering, then drop the connection.
- `Delay(seconds)`: wait before answering with the next step (to test timeouts).
- `Respond(lambda body: step)`: choose the step from the request, e.g. echo a tool result.

When the script runs out, the server answers HTTP 500 with an error that says so (and tells
OpenAI clients not to retry), so a test fails loudly instead of hanging.

Speech to text (`POST /v1/audio/transcriptions`, multipart) plays its own script of
transcripts, in order: `ScriptedModelServer(transcripts=["hello there"])` or
`push_transcript(...)`, each a text or a `Fail`; `audio_requests` records what was sent (the
file's bytes, model, language, prompt, response format). It answers in the `response_format`
asked for (`json`, `text`, `verbose_json`, `srt`, `vtt`), and like chat it answers 500 when its
script runs out.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from powerstrip.testing.servers import LoopbackServer

__all__ = [
    "AudioRequest",
    "BreakStream",
    "CallTool",
    "CallTools",
    "Delay",
    "Fail",
    "Reply",
    "Respond",
    "ScriptStep",
    "ScriptedModelServer",
]

# A reply to a request is at most this many indirections deep (Delay, Respond, ...): a Respond
# that keeps answering with Respond is a bug in the test, reported instead of looping forever.
_MAX_INDIRECTIONS = 50
_ARGUMENT_FRAGMENT = 8  # characters of tool-call arguments per streamed chunk
_WORDS = re.compile(r"\s*\S+|\s+$")


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer in text. Streamed, the text arrives word by word (`"Hi"`, `" there"`)."""

    text: str


@dataclass(frozen=True, slots=True)
class CallTool:
    """Ask the host to call a tool.

    `arguments` is a dict (sent as its JSON text) or a string sent exactly as given, which lets
    a test send malformed JSON on purpose. Without an `id`, the server numbers calls `call_1`,
    `call_2`, ... in the order it sends them.
    """

    name: str
    # Any: tool arguments are arbitrary JSON.
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True, slots=True)
class CallTools:
    """Ask for several tool calls in one answer (parallel tool calls)."""

    calls: Sequence[CallTool]

    def __post_init__(self) -> None:
        calls = tuple(self.calls)
        if not calls or not all(isinstance(call, CallTool) for call in calls):
            raise ValueError("CallTools needs one or more CallTool steps")
        object.__setattr__(self, "calls", calls)  # frozen: store an immutable copy, once


@dataclass(frozen=True, slots=True)
class Fail:
    """Answer with an HTTP error.

    `body` is a JSON object or plain text; by default an OpenAI-style error object
    (`{"error": {"message": ..., "type": ..., "code": ...}}`). OpenAI clients retry 408, 409,
    429 and 5xx answers (`max_retries`), so script one `Fail` per attempt or use
    `max_retries=0`.
    """

    status: int = 500
    # Any: an error body is arbitrary JSON.
    body: dict[str, Any] | str | None = None


@dataclass(frozen=True, slots=True)
class BreakStream:
    """Start answering with `reply`, then drop the connection after `after_chunks` chunks.

    Streaming, a chunk is one server-sent event; otherwise the server sends `after_chunks`
    bytes of the JSON answer. uvicorn logs "ASGI callable returned without completing
    response." when this happens: that is the break, not a bug.
    """

    after_chunks: int = 1
    reply: Reply | CallTool | CallTools = Reply(
        "This answer is cut off before it ends, as if the connection had failed."
    )


@dataclass(frozen=True, slots=True)
class Delay:
    """Wait `seconds` before answering with `then`, or with the next step of the script.

    The Delay and its answer belong to one request: if the client gives up waiting (a timeout),
    both are used up, and the server stops waiting at once, so timeout tests stay fast.
    """

    seconds: float
    then: ScriptStep | None = None


@dataclass(frozen=True, slots=True)
class Respond:
    """Choose the answer from the request body (a dict), e.g. to echo the last tool result:
    `Respond(lambda body: Reply(body["messages"][-1]["content"]))`.

    The function runs in the server's thread and may return any step (a `Fail`, a `Delay`,
    another `Respond`). If it raises, the request gets an HTTP 500 that names the exception.
    """

    # Any: the request body is arbitrary JSON.
    choose: Callable[[dict[str, Any]], ScriptStep]


@dataclass(frozen=True, slots=True)
class AudioRequest:
    """One `/v1/audio/transcriptions` request, as the server received it."""

    model: str
    filename: str
    content_type: str
    file: bytes
    language: str | None
    prompt: str | None
    response_format: str


ScriptStep = Reply | CallTool | CallTools | Fail | BreakStream | Delay | Respond
_STEP_TYPES = (Reply, CallTool, CallTools, Fail, BreakStream, Delay, Respond)


class ScriptedModelServer:
    """An OpenAI-compatible model server on 127.0.0.1 that plays a script of replies.

    Use it as a context manager (or `start()` / `stop()`); point your OpenAI client or host at
    `base_url`. `requests` holds every chat-completion request body received (including ones
    refused for a wrong API key), `remaining` the steps not played yet; `push()` appends steps,
    also while the server runs. With `expected_api_key`, requests without
    `Authorization: Bearer <that key>` get an OpenAI-style 401. The server answers for any
    model name; `GET /v1/models` lists `models`. `app` is the Starlette app, should you want to
    serve it in-process. `keep_requests=N` keeps only the last N request bodies, for long runs
    (a bench's thousands of turns) that would otherwise hold every one in memory.
    """

    def __init__(
        self,
        script: Iterable[ScriptStep] = (),
        *,
        expected_api_key: str | None = None,
        models: Sequence[str] = ("scripted-model",),
        keep_requests: int | None = None,
        transcripts: Iterable[str | Fail] = (),
    ) -> None:
        self.expected_api_key = expected_api_key
        self.models = tuple(models)
        self._lock = threading.Lock()
        self._script: deque[ScriptStep] = deque()
        self._requests: deque[dict[str, Any]] = deque(maxlen=keep_requests)
        self._received = 0
        self._played = 0
        self._call_ids = itertools.count(1)
        self._transcripts: deque[str | Fail] = deque()
        self._audio_requests: list[AudioRequest] = []
        self.push(*script)
        self.push_transcript(*transcripts)
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/v1/models", self._list_models, methods=["GET"]),
                Route("/v1/audio/transcriptions", self._transcriptions, methods=["POST"]),
            ]
        )
        self._server = LoopbackServer(self.app)

    # -- the test-facing API -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's root URL, `http://127.0.0.1:PORT`."""
        return self._server.url

    @property
    def base_url(self) -> str:
        """The OpenAI base URL to configure clients with, `http://127.0.0.1:PORT/v1`."""
        return f"{self._server.url}/v1"

    @property
    def port(self) -> int:
        """The port the server listens on (known before `start()`)."""
        return self._server.port

    # Any: request bodies are arbitrary JSON.
    @property
    def requests(self) -> list[dict[str, Any]]:
        """A copy of every chat-completion request body received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def remaining(self) -> tuple[ScriptStep, ...]:
        """The script steps not played yet."""
        with self._lock:
            return tuple(self._script)

    def push(self, *steps: ScriptStep) -> None:
        """Append steps to the script."""
        for step in steps:
            _check_step(step)
        with self._lock:
            self._script.extend(steps)

    @property
    def audio_requests(self) -> list[AudioRequest]:
        """A copy of every transcription request received so far, oldest first."""
        with self._lock:
            return list(self._audio_requests)

    def push_transcript(self, *steps: str | Fail) -> None:
        """Append transcripts (or `Fail` answers) to the speech-to-text script."""
        for step in steps:
            if not isinstance(step, str | Fail):
                raise TypeError(f"a transcript step is a str or a Fail, not {step!r}")
        with self._lock:
            self._transcripts.extend(steps)

    def start(self) -> None:
        """Start serving; returns once the server accepts connections."""
        self._server.start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the HTTP side ----------------------------------------------------------------------

    async def _list_models(self, request: Request) -> Response:
        denied = self._refuse_key(request)
        if denied is not None:
            return denied
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "powerstrip-testing"}
            for name in self.models
        ]
        return JSONResponse({"object": "list", "data": data})

    async def _chat_completions(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "The request body is not valid JSON.", "invalid_request_error")
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.", "invalid_request_error")
        with self._lock:
            self._requests.append(body)
            self._received += 1
            number = self._received
        denied = self._refuse_key(request)
        if denied is not None:
            return denied

        step = self._take_step()
        for _ in range(_MAX_INDIRECTIONS):
            if isinstance(step, Delay):
                # Take the step now: a Delay and its answer belong to this request, whatever
                # other requests arrive meanwhile, and are used up even if the client leaves.
                delay, step = step, step.then if step.then is not None else self._take_step()
                if await _client_left_during(request.receive, delay.seconds):
                    return Response(status_code=499)  # nobody is listening any more
            elif isinstance(step, Respond):
                try:
                    step = step.choose(body)
                    _check_step(step)
                except Exception as exc:  # any failure of the test's own function
                    return _script_error(
                        f"ScriptedModelServer: the Respond function failed on request #{number}: "
                        f"{type(exc).__name__}: {exc}"
                    )
            else:
                break
        else:
            return _script_error(
                f"ScriptedModelServer: request #{number} went through {_MAX_INDIRECTIONS} "
                "Delay/Respond steps without reaching an answer; does a Respond return itself?"
            )

        if step is None:
            return _script_error(self._exhausted_message(number, body))
        if isinstance(step, Fail):
            return _failure(step)
        return self._answer(step, body)

    async def _transcriptions(self, request: Request) -> Response:
        try:
            async with request.form() as form:  # closes the uploaded file's spooled copy
                upload = form.get("file")
                if isinstance(upload, str) or upload is None:
                    return _error(400, "There is no `file` part.", "invalid_request_error")
                fields = {key: value for key, value in form.items() if isinstance(value, str)}
                received = AudioRequest(
                    model=fields.get("model", ""),
                    filename=upload.filename or "",
                    content_type=upload.content_type or "",
                    file=await upload.read(),
                    language=fields.get("language"),
                    prompt=fields.get("prompt"),
                    response_format=fields.get("response_format", "json"),
                )
        except Exception:  # a body python-multipart cannot parse, whatever it raises
            return _error(400, "The body is not multipart/form-data.", "invalid_request_error")
        with self._lock:
            self._audio_requests.append(received)
            number = len(self._audio_requests)
        denied = self._refuse_key(request)
        if denied is not None:
            return denied  # a refused request uses no step, as in chat
        with self._lock:
            step = self._transcripts.popleft() if self._transcripts else None
        if step is None:
            return _script_error(
                f"ScriptedModelServer: the transcript script ran out at transcription request "
                f"#{number}. Script one more (transcripts=[...] or server.push_transcript(...))."
            )
        if isinstance(step, Fail):
            return _failure(step)
        return _transcription_answer(step, received)

    def _refuse_key(self, request: Request) -> Response | None:
        if self.expected_api_key is None:
            return None
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return _error(
                401,
                "You didn't provide an API key. Send it as `Authorization: Bearer KEY`.",
                "invalid_request_error",
                code="invalid_api_key",
            )
        if not secrets.compare_digest(key.strip().encode(), self.expected_api_key.encode()):
            # Never echo the key that was sent: tests assert that keys do not leak.
            return _error(
                401,
                "Incorrect API key provided. ScriptedModelServer expects the key it was "
                "given as expected_api_key.",
                "invalid_request_error",
                code="invalid_api_key",
            )
        return None

    def _take_step(self) -> ScriptStep | None:
        with self._lock:
            if not self._script:
                return None
            self._played += 1
            return self._script.popleft()

    def _exhausted_message(self, number: int, body: dict[str, Any]) -> str:
        last = ""
        messages = body.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
            text = json.dumps(messages[-1].get("content"))
            last = f" Its last message ({messages[-1].get('role')}): {text[:200]}."
        return (
            f"ScriptedModelServer: the script ran out. Request #{number} arrived after all "
            f"{self._played} scripted steps were played.{last} Script one more step "
            "(ScriptedModelServer([...]) or server.push(...))."
        )

    def _answer(
        self, step: Reply | CallTool | CallTools | BreakStream, body: dict[str, Any]
    ) -> Response:
        reply = step.reply if isinstance(step, BreakStream) else step
        calls = self._calls_of(reply)
        text = reply.text if isinstance(reply, Reply) else None
        meta = _Meta(
            id=f"chatcmpl-scripted-{secrets.token_hex(6)}",
            created=int(time.time()),
            model=str(body.get("model") or self.models[0]),
        )
        usage = _usage(body, text, calls)
        break_after = step.after_chunks if isinstance(step, BreakStream) else None
        if body.get("stream") is True:
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            events = _stream_events(meta, text, calls, usage if include_usage else None)
            pieces = [f"data: {json.dumps(event)}\n\n".encode() for event in events]
            pieces.append(b"data: [DONE]\n\n")
            return _PiecewiseResponse(pieces, "text/event-stream", break_after)
        completion = json.dumps(_completion(meta, text, calls, usage)).encode()
        if break_after is not None:
            return _PiecewiseResponse(
                [completion[:break_after], completion[break_after:]], "application/json", 1
            )
        return Response(completion, media_type="application/json")

    def _calls_of(self, reply: Reply | CallTool | CallTools) -> list[dict[str, str]]:
        if isinstance(reply, Reply):
            return []
        calls = reply.calls if isinstance(reply, CallTools) else (reply,)
        result = []
        for call in calls:
            arguments = call.arguments
            result.append(
                {
                    "id": call.id or f"call_{next(self._call_ids)}",
                    "name": call.name,
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                }
            )
        return result


@dataclass(frozen=True, slots=True)
class _Meta:
    id: str
    created: int
    model: str


def _check_step(step: object) -> None:
    if not isinstance(step, _STEP_TYPES):
        names = ", ".join(kind.__name__ for kind in _STEP_TYPES)
        raise TypeError(f"a script step must be one of {names}, not {step!r}")


def _estimate_tokens(text: str) -> int:
    # Roughly four characters a token, like OpenAI's rule of thumb; tests need numbers, not truth.
    return max(1, math.ceil(len(text) / 4))


def _usage(body: dict[str, Any], text: str | None, calls: list[dict[str, str]]) -> dict[str, int]:
    prompt = _estimate_tokens(json.dumps(body.get("messages", [])))
    written = (text or "") + (json.dumps(calls) if calls else "")
    completion = _estimate_tokens(written)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _stream_events(
    meta: _Meta, text: str | None, calls: list[dict[str, str]], usage: dict[str, int] | None
) -> list[dict[str, Any]]:
    """The `chat.completion.chunk` objects of one answer, in OpenAI's order and shapes."""

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        event: dict[str, Any] = {
            "id": meta.id,
            "object": "chat.completion.chunk",
            "created": meta.created,
            "model": meta.model,
            "system_fingerprint": None,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if usage is not None:
            event["usage"] = None  # OpenAI sends `usage: null` on every chunk but the last
        return event

    events: list[dict[str, Any]] = []
    if not calls:
        events.append(chunk({"role": "assistant", "content": "", "refusal": None}))
        events.extend(chunk({"content": piece}) for piece in _WORDS.findall(text or ""))
        events.append(chunk({}, "stop"))
    else:
        for index, call in enumerate(calls):
            opening = {
                "index": index,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": ""},
            }
            delta: dict[str, Any] = {"tool_calls": [opening]}
            if index == 0:
                delta = {"role": "assistant", "content": None, "refusal": None, **delta}
            events.append(chunk(delta))
            arguments = call["arguments"]
            for start in range(0, len(arguments), _ARGUMENT_FRAGMENT):
                fragment = arguments[start : start + _ARGUMENT_FRAGMENT]
                events.append(
                    chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
                )
        events.append(chunk({}, "tool_calls"))
    if usage is not None:
        last = chunk({})
        last["choices"] = []
        last["usage"] = usage
        events.append(last)
    return events


def _completion(
    meta: _Meta, text: str | None, calls: list[dict[str, str]], usage: dict[str, int]
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if calls:
        message["tool_calls"] = [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": call["arguments"]},
            }
            for call in calls
        ]
    return {
        "id": meta.id,
        "object": "chat.completion",
        "created": meta.created,
        "model": meta.model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if calls else "stop",
            }
        ],
        "usage": usage,
    }


def _transcription_answer(text: str, received: AudioRequest) -> Response:
    """The answer OpenAI gives for `text` in the response format the request asked for."""
    duration = 1.0  # the server does not decode the audio: tests need a number, not the truth
    kind = received.response_format
    if kind == "text":
        return Response(text + "\n", media_type="text/plain")
    if kind in ("srt", "vtt"):
        mark = "," if kind == "srt" else "."
        cue = f"00:00:00{mark}000 --> 00:00:01{mark}000"
        body = f"1\n{cue}\n{text}\n" if kind == "srt" else f"WEBVTT\n\n{cue}\n{text}\n"
        return Response(body, media_type="text/plain")
    if kind == "verbose_json":
        segment = {"id": 0, "seek": 0, "start": 0.0, "end": duration, "text": f" {text}"}
        segment |= {"tokens": [], "temperature": 0.0, "avg_logprob": -0.1}
        segment |= {"compression_ratio": 1.0, "no_speech_prob": 0.0}
        return JSONResponse(
            {
                "task": "transcribe",
                "language": "english" if received.language in (None, "en") else received.language,
                "duration": duration,
                "text": text,
                "segments": [segment],
            }
        )
    if kind != "json":
        return _error(400, f"Unknown response_format {kind!r}.", "invalid_request_error")
    return JSONResponse({"text": text, "usage": {"type": "duration", "seconds": 1}})


def _error(
    status: int,
    message: str,
    kind: str,
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def _script_error(message: str) -> Response:
    # `x-should-retry: false`: OpenAI clients would otherwise retry, replaying the same error
    # (and recording the same request again) with growing back-off.
    return _error(500, message, "script_error", headers={"x-should-retry": "false"})


def _failure(step: Fail) -> Response:
    if isinstance(step.body, str):
        return Response(step.body, status_code=step.status, media_type="text/plain")
    if step.body is not None:
        return JSONResponse(step.body, status_code=step.status)
    kind = "server_error" if step.status >= 500 else "invalid_request_error"
    return _error(step.status, f"Scripted failure (HTTP {step.status}).", kind)


async def _client_left_during(receive: Receive, seconds: float) -> bool:
    """Sleep `seconds`; True as soon as the client disconnects (the body is already read)."""
    left = False
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            nonlocal left
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    left = True
                    group.cancel_scope.cancel()
                    return

        group.start_soon(watch)
        await anyio.sleep(seconds)
        group.cancel_scope.cancel()
    return left


class _PiecewiseResponse(Response):
    """Sends the body in pieces, one write each; stops (dropping the connection) after
    `break_after` pieces when that is set."""

    def __init__(self, pieces: list[bytes], media_type: str, break_after: int | None) -> None:
        super().__init__(media_type=media_type)
        self.content_type = media_type
        self.pieces = pieces
        self.break_after = break_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", self.content_type.encode()), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for number, piece in enumerate(self.pieces):
            if self.break_after is not None and number >= self.break_after:
                # Returning before the last body message makes uvicorn close the connection
                # without the closing chunk: the client sees a broken stream.
                return
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
