"""The OpenAI-compatible model backend: any server that speaks Chat Completions.

Built on the official `openai` client, so it reaches OpenAI itself and the many servers that
copy its wire format (vLLM, llama.cpp, Ollama, LiteLLM, ...). It streams one completion as
`ModelEvent`s and converts every failure of the client into `ModelError`, at this boundary.

The API key goes to the client and nowhere else: error messages, `repr()` and logs are passed
through a `Redactor` that knows the key, because servers do echo keys back in error bodies.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import openai

from powerstrip.errors import ModelError
from powerstrip.redaction import Redactor
from powerstrip.runtime.model import (
    ChatMessage,
    ModelDone,
    ModelEvent,
    ModelTextDelta,
    ModelToolCall,
    SamplingOptions,
    ToolCall,
    ToolSpec,
    mark_tool_result,
)

__all__ = ["OpenAICompatModel"]

logger = logging.getLogger(__name__)

# The openai client refuses to start without a key, and would read OPENAI_API_KEY from the
# environment when given None: sending that key to an arbitrary base URL would leak it. Servers
# without authentication ignore this placeholder.
_NO_KEY = "no-key-configured"
_MAX_DETAIL = 300  # characters of a server's error message quoted in a ModelError


class OpenAICompatModel:
    """A `Model` served by an OpenAI-compatible HTTP API (`POST {base_url}/chat/completions`).

    `timeout` is in seconds and applies to connecting and to each wait for the next piece of
    the answer; `max_retries` is the client's retry budget for failed requests (connection
    errors, 408/409/429/5xx), never for a stream that broke mid-way. `include_usage` asks for
    token counts with `stream_options`; set it to False for servers that refuse that option.
    Close it with `aclose()` or use it as an async context manager.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None,
        *,
        timeout: float = 60,
        max_retries: int = 2,
        include_usage: bool = True,
    ) -> None:
        self._model = model
        self._timeout = timeout
        self._include_usage = include_usage
        self._redactor = Redactor([api_key] if api_key else [])
        self._display_url = _display_url(base_url, self._redactor)
        self._where = f"{self._display_url}, model {model}"
        try:
            self._client = openai.AsyncOpenAI(
                base_url=base_url,
                api_key=api_key or _NO_KEY,
                timeout=timeout,
                max_retries=max_retries,
            )
        except openai.OpenAIError as exc:
            raise ModelError(
                f"cannot set up the OpenAI client: {self._redactor.text(str(exc))}",
                where=self._where,
                fix="check the model backend's base URL and API key settings",
            ) from None

    @property
    def name(self) -> str:
        """`openai:<model>`."""
        return f"openai:{self._model}"

    def __repr__(self) -> str:
        return f"OpenAICompatModel(base_url={self._display_url!r}, model={self._model!r})"

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        *,
        sampling: SamplingOptions | None = None,
    ) -> AsyncIterator[ModelEvent]:
        """Stream one completion; raises `ModelError` when the server fails, even mid-stream.

        `sampling` goes into the request as Chat Completions' fields; a server that refuses one
        (a `response_format` the model cannot follow) answers 400, reported as `ModelError`.
        """
        # Any: the request is OpenAI wire JSON. The openai package names its TypedDicts
        # differently from one major version to the next, so we pass plain dicts.
        wire_messages: list[Any] = [_wire(message) for message in messages]
        options: dict[str, Any] = sampling.as_openai() if sampling is not None else {}
        if tools:
            options["tools"] = [tool.as_openai_tool() for tool in tools]
        if self._include_usage:
            options["stream_options"] = {"include_usage": True}
        logger.debug(
            "model request model=%s base_url=%s messages=%d tools=%d",
            self._model,
            self._display_url,
            len(messages),
            len(tools),
        )
        try:
            chunks = await self._client.chat.completions.create(
                model=self._model,
                messages=wire_messages,
                stream=True,
                **options,
            )
        except openai.OpenAIError as exc:
            # `from None`: the client's exception may quote the key (an echoed error body).
            raise self._error(exc, received=None) from None
        if not isinstance(chunks, openai.AsyncStream):  # **options hides `stream=True` from mypy
            raise self._malformed("the answer is not a stream", 0)

        state = _StreamState(self)
        try:
            async with chunks:
                async for chunk in chunks:
                    state.received += 1
                    for event in state.feed(chunk):
                        yield event
        except openai.OpenAIError as exc:
            raise self._error(exc, received=state.received) from None
        except ValueError as exc:  # a data line that is not JSON
            raise self._malformed(f"{type(exc).__name__}: {exc}", state.received) from None
        for event in state.finish():
            yield event
        logger.debug(
            "model stream done model=%s base_url=%s chunks=%d",
            self._model,
            self._display_url,
            state.received,
        )

    async def aclose(self) -> None:
        """Close the HTTP connections of the underlying client."""
        await self._client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- errors -----------------------------------------------------------------------------

    def _error(self, exc: openai.OpenAIError, *, received: int | None) -> ModelError:
        """Convert an openai exception; `received` is None before the answer began."""
        after = f" after {received} chunks" if received is not None else ""
        if isinstance(exc, openai.APITimeoutError):
            if received is None:
                what = f"the model server did not answer within {self._timeout:g} s"
            else:
                what = f"the model server's stream stalled for {self._timeout:g} s{after}"
            fix = "check that the model server is up and not overloaded, or raise the timeout"
        elif isinstance(exc, openai.APIConnectionError):
            cause = _cause(exc)
            if received is None:
                what = f"could not reach the model server ({cause})"
                fix = "check the base URL and that the model server is running and reachable"
            else:
                what = f"the model server's stream broke off{after} ({cause})"
                fix = (
                    "try again; if it keeps happening, check the model server's logs and any "
                    "proxy in between"
                )
        elif isinstance(exc, openai.APIStatusError):
            detail = _status_detail(exc)
            what = f"the model server answered HTTP {exc.status_code}: {detail}"
            fix = self._status_fix(exc.status_code, detail)
        elif isinstance(exc, openai.APIError):  # an error event in the stream, a bad answer
            where = f" mid-stream{after}" if received else ""
            what = f"the model server reported an error{where}: {exc.message}"
            fix = "check the model server's logs; the request may be too large for the model"
        else:
            what = f"the OpenAI client failed: {type(exc).__name__}: {exc}"
            fix = "check the model backend's settings"
        return self._fail(what, fix)

    def _status_fix(self, status: int, detail: str) -> str:
        if status in (401, 403):
            return "check the API key configured for the model backend, and its permissions"
        if status == 404:
            return (
                f"check the model name ({self._model}) and the base URL: it should end where "
                "the server's API starts, usually /v1"
            )
        if status == 429:
            return "wait and try again, or raise the rate limit or quota at the model provider"
        if status == 400 and "stream_options" in detail:
            return "this server refuses `stream_options`: turn include_usage off"
        if status < 500:
            return (
                "the server refused the request; check that the model exists and supports "
                "tool calls"
            )
        return "the model server failed; check its logs, or try again later"

    def _malformed(self, detail: str, received: int) -> ModelError:
        return self._fail(
            f"the model server sent a malformed stream chunk (chunk {received + 1}): {detail}",
            "check that the base URL points at an OpenAI-compatible Chat Completions API",
        )

    def _fail(self, what: str, fix: str) -> ModelError:
        if len(what) > _MAX_DETAIL * 2:
            what = what[: _MAX_DETAIL * 2] + "..."
        what = self._redactor.text(what)
        logger.warning(
            "model request failed model=%s base_url=%s error=%s",
            self._model,
            self._display_url,
            what,
        )
        return ModelError(what, where=self._where, fix=fix)


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class _StreamState:
    """Turns `chat.completion.chunk` objects into events: text at once, tool calls whole."""

    def __init__(self, model: OpenAICompatModel) -> None:
        self._model = model
        self.received = 0
        self._calls: dict[int, _PartialCall] = {}
        self._emitted_calls = 0
        self._finish_reason: str | None = None
        self._prompt_tokens: int | None = None
        self._completion_tokens: int | None = None

    # Any: chunks are openai's pydantic models, built without validation, so any field may
    # hold anything the server sent; each one is checked here.
    def feed(self, chunk: Any) -> Iterator[ModelEvent]:
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self._read_usage(usage)
        choices = getattr(chunk, "choices", None)
        if choices is None and usage is not None:
            return
        if not isinstance(choices, list):
            raise self._model._malformed("it has no `choices` list", self.received - 1)
        for choice in choices:
            if getattr(choice, "index", 0) != 0:
                continue  # we never ask for n > 1; ignore other choices if a server sends them
            delta = getattr(choice, "delta", None)
            if delta is not None:
                for text in (getattr(delta, "content", None), getattr(delta, "refusal", None)):
                    if isinstance(text, str) and text:
                        yield ModelTextDelta(text)
                for call in getattr(delta, "tool_calls", None) or ():
                    self._add_fragment(call)
            finish_reason = getattr(choice, "finish_reason", None)
            if isinstance(finish_reason, str) and finish_reason:
                self._finish_reason = finish_reason
                yield from self._flush_calls()

    def finish(self) -> Iterator[ModelEvent]:
        yield from self._flush_calls()
        # A server that ends without a finish_reason still answered; name what it did.
        reason = self._finish_reason or ("tool_calls" if self._emitted_calls else "stop")
        yield ModelDone(reason, self._prompt_tokens, self._completion_tokens)

    def _read_usage(self, usage: Any) -> None:  # Any: see feed()
        prompt = getattr(usage, "prompt_tokens", None)
        completion = getattr(usage, "completion_tokens", None)
        if isinstance(prompt, int):
            self._prompt_tokens = prompt
        if isinstance(completion, int):
            self._completion_tokens = completion

    def _add_fragment(self, fragment: Any) -> None:  # Any: see feed()
        index = getattr(fragment, "index", None)
        call_id = getattr(fragment, "id", None)
        if not isinstance(index, int):
            # Some servers omit `index` and send each call whole: a new id starts a new call.
            last = max(self._calls, default=-1)
            known = self._calls.get(last)
            starts_new = known is None or (bool(call_id) and call_id != known.id)
            index = last + 1 if starts_new else last
        partial = self._calls.setdefault(index, _PartialCall())
        if isinstance(call_id, str) and call_id and not partial.id:
            partial.id = call_id
        function = getattr(fragment, "function", None)
        name = getattr(function, "name", None)
        if isinstance(name, str) and name and not partial.name:
            partial.name = name
        arguments = getattr(function, "arguments", None)
        if isinstance(arguments, str):
            partial.arguments.append(arguments)

    def _flush_calls(self) -> Iterator[ModelEvent]:
        calls, self._calls = self._calls, {}
        for index in sorted(calls):
            partial = calls[index]
            if not partial.name:
                raise self._model._malformed(
                    f"tool call #{index} has no function name", self.received - 1
                )
            self._emitted_calls += 1
            yield ModelToolCall(
                ToolCall(
                    # Some servers send no id; the conversation needs one to pair the result.
                    id=partial.id or f"call_{secrets.token_hex(8)}",
                    name=partial.name,
                    # No arguments at all means "no arguments": keep the text valid JSON.
                    arguments="".join(partial.arguments) or "{}",
                )
            )


def _display_url(base_url: str, redactor: Redactor) -> str:
    """The base URL for messages and logs: no user info, no secret-looking query values."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a malformed port: show the URL as given, redacted
        return redactor.url(base_url)
    netloc = f"{host}:{port}" if port is not None else host
    return redactor.url(urlunsplit(parts._replace(netloc=netloc)))


def _cause(exc: BaseException) -> str:
    """The underlying transport error's text, e.g. `ConnectError: [Errno 111] ...`."""
    cause = exc.__cause__ or exc.__context__
    if cause is None:
        return str(exc).rstrip(".")
    text = str(cause) or "no details"
    return f"{type(cause).__name__}: {text}"


def _status_detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    message: object = None
    if isinstance(body, dict):
        message = body.get("message")
        nested = body.get("error")
        if message is None and isinstance(nested, dict):
            message = nested.get("message")
        elif message is None and isinstance(nested, str):
            message = nested
    elif isinstance(body, str) and body.strip():
        message = body.strip()
    if not isinstance(message, str) or not message:
        message = exc.message.removeprefix(f"Error code: {exc.status_code} - ")
    if len(message) > _MAX_DETAIL:
        message = message[:_MAX_DETAIL] + "..."
    return message


def _wire(message: ChatMessage) -> dict[str, Any]:  # Any: the OpenAI wire format is JSON
    """The message as the API takes it; a plugin's tool result marked as that plugin's data."""
    wire = message.as_openai()
    if message.role == "tool" and message.source_plugin and message.content is not None:
        wire["content"] = mark_tool_result(message.source_plugin, message.content)
    return wire
