"""The OpenAI-compatible model backend: any server that speaks Chat Completions.

It reaches OpenAI itself and the many servers that copy its wire format (vLLM, llama.cpp,
Ollama, LiteLLM, ...), streams one completion as `ModelEvent`s, and converts every failure into
`ModelError`, at this boundary.

It speaks the wire format itself, over httpx, rather than through the official `openai`
client: that client builds a pydantic object for every streamed chunk, which cost more CPU than
the rest of a `/v1` chat completion's turn (docs/openai-api.md, "Speed"). What the client did
that servers rely on is kept: the same request JSON, retries of failed requests (connection
errors, 408/409/429/5xx, `Retry-After`, `x-should-retry`) with the same backoff, and a timeout
on connecting and on each wait for the next piece of the answer.

The API key goes into the `Authorization` header and nowhere else: error messages, `repr()` and
logs are passed through a `Redactor` that knows the key, because servers do echo keys back in
error bodies.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import random
import secrets
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import aclosing, asynccontextmanager, suppress
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx

from powerstrip import __version__
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
from powerstrip.runtime.sse import sse_data

__all__ = ["OpenAICompatModel"]

logger = logging.getLogger(__name__)

# Servers without authentication ignore this placeholder; servers that want a key refuse it
# with a 401 that says so. (The openai client sent it too, never OPENAI_API_KEY from the
# environment: that key must not go to an arbitrary base URL.)
_NO_KEY = "no-key-configured"
_MAX_DETAIL = 300  # characters of a server's error message quoted in a ModelError
_MAX_ERROR_BODY = 64 * 1024  # bytes of an error answer read to find its message
# The openai client's connection pool and retry rules, kept: servers were tuned to them.
_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
_RETRY_STATUSES = frozenset({408, 409, 429})
_FIRST_BACKOFF = 0.5
_MAX_BACKOFF = 8.0
_MAX_RETRY_AFTER = 120.0
# After `[DONE]`, the rest of the body (the closing chunk) is read so that the connection can
# serve the next completion; a server that keeps it open longer loses it instead.
_DRAIN_SECONDS = 0.1

_FIX_TIMEOUT = "check that the model server is up and not overloaded, or raise the timeout"
_FIX_UNREACHABLE = "check the base URL and that the model server is running and reachable"
_FIX_BROKEN = (
    "try again; if it keeps happening, check the model server's logs and any proxy in between"
)


class OpenAICompatModel:
    """A `Model` served by an OpenAI-compatible HTTP API (`POST {base_url}/chat/completions`).

    `timeout` is in seconds and applies to connecting and to each wait for the next piece of
    the answer; `max_retries` is the retry budget for failed requests (connection errors,
    408/409/429/5xx), never for a stream that broke mid-way. `include_usage` asks for token
    counts with `stream_options`; set it to False for servers that refuse that option.
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
        self._max_retries = max_retries
        self._include_usage = include_usage
        self._redactor = Redactor([api_key] if api_key else [])
        self._display_url = _display_url(base_url, self._redactor)
        self._where = f"{self._display_url}, model {model}"
        try:
            base = httpx.URL(base_url)
            self._url = base.copy_with(path=base.path.rstrip("/") + "/chat/completions")
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise ModelError(
                f"the model backend's base URL is not a valid URL: {self._redactor.text(str(exc))}",
                where=self._where,
                fix="check the model backend's base URL setting",
            ) from None
        self._headers = {
            "Authorization": f"Bearer {api_key or _NO_KEY}",
            "Content-Type": "application/json",
            # What the openai client sends, streaming or not: servers copying OpenAI expect it.
            "Accept": "application/json",
            "User-Agent": f"powerstrip/{__version__}",
        }
        # Redirects followed and the environment's proxy and CA settings honoured, as the
        # openai client did: the operator chose this server, and may reach it through a proxy.
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            limits=_LIMITS,
            follow_redirects=True,
            cookies=_NoCookies(),
        )

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
        # Any: the request is OpenAI wire JSON.
        request: dict[str, Any] = {
            "model": self._model,
            "messages": [_wire(message) for message in messages],
            "stream": True,
        }
        if sampling is not None:
            request.update(sampling.as_openai())
        if tools:
            request["tools"] = [tool.as_openai_tool() for tool in tools]
        if self._include_usage:
            request["stream_options"] = {"include_usage": True}
        content = json.dumps(request, separators=(",", ":")).encode()
        logger.debug(
            "model request model=%s base_url=%s messages=%d tools=%d",
            self._model,
            self._display_url,
            len(messages),
            len(tools),
        )
        state = _StreamState(self)
        async with self._response(content) as response:
            # The bytes as they came when nothing needs undoing: two generators fewer a chunk.
            encoding = response.headers.get("content-encoding", "identity").strip().lower()
            body = response.aiter_raw() if encoding == "identity" else response.aiter_bytes()
            finished = False
            try:
                async with aclosing(sse_data(body)) as events:
                    async for data in events:
                        if data.startswith("[DONE]"):
                            finished = True
                            break
                        for event in state.feed(data):
                            yield event
            except httpx.TimeoutException:
                raise self._fail(
                    f"the model server's stream stalled for {self._timeout:g} s after "
                    f"{state.received} chunks",
                    _FIX_TIMEOUT,
                ) from None
            except httpx.HTTPError as exc:
                raise self._fail(
                    f"the model server's stream broke off after {state.received} chunks "
                    f"({_cause(exc)})",
                    _FIX_BROKEN,
                ) from None
            if finished:
                await _drain(body)
        for event in state.finish():
            yield event
        logger.debug(
            "model stream done model=%s base_url=%s chunks=%d",
            self._model,
            self._display_url,
            state.received,
        )

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- the request, with its retries ------------------------------------------------------

    @asynccontextmanager
    async def _response(self, content: bytes) -> AsyncIterator[httpx.Response]:
        """The streaming answer to `content`, once its status is a success; retried as allowed."""
        retries = 0
        while True:
            headers: httpx.Headers | None = None
            try:
                request = self._http.build_request(
                    "POST", self._url, content=content, headers=self._headers
                )
                response = await self._http.send(request, stream=True)
            except httpx.TimeoutException:
                what = f"the model server did not answer within {self._timeout:g} s"
                fix, retryable = _FIX_TIMEOUT, True
            except httpx.HTTPError as exc:
                what = f"could not reach the model server ({_cause(exc)})"
                fix, retryable = _FIX_UNREACHABLE, True
            else:
                if response.is_success:
                    break
                headers = response.headers
                detail = _status_detail(await _error_text(response))
                what = f"the model server answered HTTP {response.status_code}: {detail}"
                fix = self._status_fix(response.status_code, detail)
                retryable = _should_retry(response.status_code, headers)
            if not retryable or retries >= self._max_retries:
                raise self._fail(what, fix)
            delay = _retry_delay(retries, headers)
            retries += 1
            logger.info(
                "model request retry model=%s base_url=%s retry=%d delay=%.2f error=%s",
                self._model,
                self._display_url,
                retries,
                delay,
                self._redactor.text(what),
            )
            await anyio.sleep(delay)
        try:
            yield response
        finally:
            await response.aclose()

    # -- errors -----------------------------------------------------------------------------

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

    def _stream_error(self, error: object, received: int) -> ModelError:
        """An `{"error": ...}` event in the stream."""
        message = error.get("message") if isinstance(error, dict) else None
        if not isinstance(message, str) or not message:
            message = "An error occurred during streaming"
        where = f" mid-stream after {received} chunks" if received else ""
        return self._fail(
            f"the model server reported an error{where}: {message}",
            "check the model server's logs; the request may be too large for the model",
        )

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


class _NoCookies(CookieJar):
    """Keeps no cookie: a model API has no session to keep, and httpx would otherwise parse
    every answer's headers into an `email.message.Message` to look for one."""

    def extract_cookies(self, response: Any, request: Any) -> None:  # Any: urllib's shapes
        return None


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class _StreamState:
    """Turns `chat.completion.chunk` JSON into events: text at once, tool calls whole."""

    def __init__(self, model: OpenAICompatModel) -> None:
        self._model = model
        self.received = 0
        self._calls: dict[int, _PartialCall] = {}
        self._emitted_calls = 0
        self._finish_reason: str | None = None
        self._prompt_tokens: int | None = None
        self._completion_tokens: int | None = None

    def feed(self, data: str) -> Iterator[ModelEvent]:
        """The events of one `data:` payload; every field is checked, servers send anything."""
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise self._model._malformed(f"{type(exc).__name__}: {exc}", self.received) from None
        if isinstance(chunk, dict) and chunk.get("error"):
            raise self._model._stream_error(chunk["error"], self.received)
        self.received += 1
        if not isinstance(chunk, dict):
            raise self._model._malformed("it is not a JSON object", self.received - 1)
        usage = chunk.get("usage")
        if usage is not None:
            self._read_usage(usage)
        choices = chunk.get("choices")
        if choices is None and usage is not None:
            return
        if not isinstance(choices, list):
            raise self._model._malformed("it has no `choices` list", self.received - 1)
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # we never ask for n > 1; ignore other choices if a server sends them
            delta = choice.get("delta")
            if isinstance(delta, dict):
                for text in (delta.get("content"), delta.get("refusal")):
                    if isinstance(text, str) and text:
                        yield ModelTextDelta(text)
                calls = delta.get("tool_calls")
                if isinstance(calls, list):
                    for call in calls:
                        if isinstance(call, dict):
                            self._add_fragment(call)
            finish_reason = choice.get("finish_reason")
            if isinstance(finish_reason, str) and finish_reason:
                self._finish_reason = finish_reason
                yield from self._flush_calls()

    def finish(self) -> Iterator[ModelEvent]:
        yield from self._flush_calls()
        # A server that ends without a finish_reason still answered; name what it did.
        reason = self._finish_reason or ("tool_calls" if self._emitted_calls else "stop")
        yield ModelDone(reason, self._prompt_tokens, self._completion_tokens)

    def _read_usage(self, usage: object) -> None:
        if not isinstance(usage, dict):
            return
        prompt = usage.get("prompt_tokens")
        completion = usage.get("completion_tokens")
        if isinstance(prompt, int):
            self._prompt_tokens = prompt
        if isinstance(completion, int):
            self._completion_tokens = completion

    # Any: one tool call fragment of the wire JSON; each field is checked.
    def _add_fragment(self, fragment: dict[str, Any]) -> None:
        index = fragment.get("index")
        call_id = fragment.get("id")
        if not isinstance(index, int):
            # Some servers omit `index` and send each call whole: a new id starts a new call.
            last = max(self._calls, default=-1)
            known = self._calls.get(last)
            starts_new = known is None or (bool(call_id) and call_id != known.id)
            index = last + 1 if starts_new else last
        partial = self._calls.setdefault(index, _PartialCall())
        if isinstance(call_id, str) and call_id and not partial.id:
            partial.id = call_id
        function = fragment.get("function")
        if not isinstance(function, dict):
            return
        name = function.get("name")
        if isinstance(name, str) and name and not partial.name:
            partial.name = name
        arguments = function.get("arguments")
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


def _should_retry(status: int, headers: httpx.Headers) -> bool:
    """The openai client's rule: the server's `x-should-retry`, else 408/409/429/5xx."""
    asked = _retry_after(headers)
    if asked is not None and not (math.isfinite(asked) and asked <= _MAX_RETRY_AFTER):
        return False  # the server wants more of a wait than a chat turn can give
    hint = str(headers.get("x-should-retry", ""))
    if hint in ("true", "false"):
        return hint == "true"
    return status in _RETRY_STATUSES or status >= 500


def _retry_delay(retries: int, headers: httpx.Headers | None) -> float:
    """`Retry-After` when the server gives a usable one, else exponential backoff with jitter."""
    asked = _retry_after(headers) if headers is not None else None
    if asked is not None and math.isfinite(asked) and 0 < asked <= _MAX_RETRY_AFTER:
        return asked
    backoff = min(_FIRST_BACKOFF * 2.0 ** min(retries, 64), _MAX_BACKOFF)
    return backoff * (1 - 0.25 * random.random())  # noqa: S311 - jitter, not a secret


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds from `retry-after-ms`, or `retry-after` (seconds or an HTTP date)."""
    for name, divisor in (("retry-after-ms", 1000), ("retry-after", 1)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) / divisor
        except ValueError:
            continue
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        return float(email.utils.mktime_tz(parsed) - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


async def _drain(body: AsyncIterator[bytes]) -> None:
    """Read what follows `[DONE]` (the closing chunk): the connection then serves the next."""
    with anyio.move_on_after(_DRAIN_SECONDS):
        try:
            async for _ in body:
                pass
        except httpx.HTTPError:
            pass  # the answer was whole; only the connection is lost


async def _error_text(response: httpx.Response) -> str:
    """The first bytes of an error answer, as text; the response is closed."""
    body = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= _MAX_ERROR_BODY:
                break
    except httpx.HTTPError:
        pass  # what arrived is the message; the status says the rest
    finally:
        await response.aclose()
    return body[:_MAX_ERROR_BODY].decode("utf-8", "replace")


def _status_detail(text: str) -> str:
    """The message of an error answer: OpenAI's `error.message`, or another server's text."""
    stripped = text.strip()
    body: object = stripped
    with suppress(ValueError):
        body = json.loads(stripped)
    if isinstance(body, dict):
        body = body.get("error", body)
    message: object = None
    if isinstance(body, dict):
        message = body.get("message")
        nested = body.get("error")
        if message is None and isinstance(nested, dict):
            message = nested.get("message")
        elif message is None and isinstance(nested, str):
            message = nested
    elif isinstance(body, str):
        message = body.strip()
    if not isinstance(message, str) or not message:
        message = stripped or "(an empty answer)"
    if len(message) > _MAX_DETAIL:
        message = message[:_MAX_DETAIL] + "..."
    return message


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


def _cause(exc: httpx.HTTPError) -> str:
    """The transport error's text, e.g. `ConnectError: [Errno 111] ...`."""
    return f"{type(exc).__name__}: {str(exc) or 'no details'}"


def _wire(message: ChatMessage) -> dict[str, Any]:  # Any: the OpenAI wire format is JSON
    """The message as the API takes it; a plugin's tool result marked as that plugin's data."""
    wire = message.as_openai()
    if message.role == "tool" and message.source_plugin and message.content is not None:
        wire["content"] = mark_tool_result(message.source_plugin, message.content)
    return wire
