"""`POST /v1/chat/completions`: OpenAI's Chat Completions, streamed or not, plugins included.

The request's messages and function tools go to an API turn (`host.openai.turns`); the user's
installed plugins run there as server-side tools (all of them, up to the per-conversation cap,
or those named in the `powerstrip.plugins` extension field; `powerstrip.plugins: []` offers
none). Their calls are reported in the `powerstrip` extension field of the answer (and of the
last chunk); the client's own tools come back as `tool_calls` for the client to run. A plugin
call that needs the user's approval ends the completion with a message saying so and a link to
approve it (also in `powerstrip.approvals`): it never runs unasked.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from powerstrip.errors import InvalidInputError
from powerstrip.host import ApiTurn, PluginChoice, chat_sampling
from powerstrip.runtime import (
    ApprovalNeeded,
    CallFinished,
    CallStarted,
    ChatMessage,
    ClientCalls,
    ErrorEvent,
    Event,
    TextDelta,
    ToolCall,
    ToolSpec,
    TurnDone,
)
from powerstrip.server.deps import CurrentHost
from powerstrip.server.v1.access import CurrentCaller
from powerstrip.server.v1.errors import openai_error
from powerstrip.server.v1.wire import sse, sse_done

__all__ = ["ChatCompletionRequest", "router"]

router = APIRouter(tags=["chat"])

JSON = dict[str, Any]  # Any: OpenAI's JSON


class PowerstripOptions(BaseModel):
    """The `powerstrip` extension field: which installed plugins to offer (ids or names)."""

    plugins: list[str | int] | None = Field(
        default=None, description="Plugins to offer; unset: every installed one; []: none."
    )


class ChatCompletionRequest(BaseModel):
    """OpenAI's request; fields this host does not use are accepted and listed in the docs."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=200)
    messages: list[dict[str, Any]] = Field(min_length=1, max_length=2000)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = Field(default=None, max_length=128)
    tool_choice: Any = None
    n: int = Field(default=1, ge=1, le=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[Annotated[str, Field(max_length=200)]] | None = Field(
        default=None, max_length=4
    )
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    response_format: dict[str, Any] | None = None
    user: str | None = None
    powerstrip: PowerstripOptions | None = None


def parse_messages(raw: list[JSON]) -> list[ChatMessage]:
    """OpenAI's chat messages as the runtime's; what cannot be read is a 400 naming it."""
    messages = []
    for position, message in enumerate(raw):
        role = message.get("role")
        where = f"messages[{position}]"
        content = _content(message.get("content"), where)
        if role in ("system", "developer"):
            messages.append(ChatMessage("system", content or ""))
        elif role == "user":
            messages.append(ChatMessage("user", content or ""))
        elif role == "assistant":
            calls = tuple(
                _call(call, f"{where}.tool_calls") for call in message.get("tool_calls") or ()
            )
            messages.append(ChatMessage("assistant", content, tool_calls=calls))
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str):
                raise InvalidInputError(
                    f"{where} is a tool message without tool_call_id",
                    where=f"{where}.tool_call_id",
                    fix="send the id of the tool call it answers",
                )
            messages.append(ChatMessage("tool", content or "", tool_call_id=call_id))
        else:
            raise InvalidInputError(
                f"{where} has role {role!r}",
                where=f"{where}.role",
                fix="use system, developer, user, assistant or tool",
            )
    return messages


def _content(content: Any, where: str) -> str | None:  # Any: unvalidated JSON
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                texts.append(str(part.get("text", "")))
            elif isinstance(part, dict) and part.get("type") == "refusal":
                texts.append(str(part.get("refusal", "")))
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise InvalidInputError(
                    f"{where} has a content part of type {kind!r}, which this host cannot read",
                    where=f"{where}.content",
                    fix="send text parts only",
                )
        return "".join(texts)
    raise InvalidInputError(
        f"{where}.content must be a string or a list of parts",
        where=f"{where}.content",
        fix="send text",
    )


def _call(call: Any, where: str) -> ToolCall:  # Any: unvalidated JSON
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(call.get("id"), str):
        raise InvalidInputError(
            f"{where} has a tool call without id or function",
            where=where,
            fix='send {"id": ..., "type": "function", "function": {"name": ..., "arguments": ...}}',
        )
    return ToolCall(call["id"], str(function.get("name", "")), str(function.get("arguments", "")))


def parse_tools(raw: list[JSON] | None) -> list[ToolSpec]:
    tools = []
    for position, tool in enumerate(raw or ()):
        function = tool.get("function")
        if (
            tool.get("type") != "function"
            or not isinstance(function, dict)
            or not function.get("name")
        ):
            raise InvalidInputError(
                f"tools[{position}] is not a function tool",
                where=f"tools[{position}]",
                fix='send {"type": "function", "function": {"name": ..., "parameters": {...}}}',
            )
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        tools.append(
            ToolSpec(str(function["name"]), str(function.get("description") or ""), parameters)
        )
    return tools


def plugin_choice(options: PowerstripOptions | None) -> PluginChoice:
    if options is None or options.plugins is None:
        return PluginChoice()
    if not options.plugins:
        return PluginChoice(enabled=False)
    return PluginChoice(tuple(str(name) for name in options.plugins))


class _Answer:
    """What a completion collected: text, client calls, plugin calls, approvals, errors."""

    def __init__(self, turn: ApiTurn) -> None:
        self.turn = turn
        self.text: list[str] = []
        self.client_calls: list[ToolCall] = []
        self.plugin_calls: dict[str, JSON] = {}
        self.approvals: list[JSON] = []
        self.error: str | None = None

    def note(self, event: Event) -> str | None:
        """Take in one event; the text it adds to the answer (a delta), if any."""
        if isinstance(event, TextDelta):
            self.text.append(event.text)
            return event.text
        if isinstance(event, CallStarted):
            self.plugin_calls[event.call_id] = {
                "id": event.call_id,
                "function_name": event.function_name,
                "arguments": event.arguments,
                "status": "in_progress",
            }
        elif isinstance(event, CallFinished):
            self.plugin_calls.setdefault(event.call_id, {"id": event.call_id}).update(
                function_name=event.function_name,
                status=event.outcome,
                status_code=event.status_code,
                duration_ms=event.duration_ms,
                error=event.error,
            )
        elif isinstance(event, ApprovalNeeded):
            self.approvals.append(
                {
                    "call_id": event.approval_id,
                    "function_name": event.function_name,
                    "arguments": event.arguments,
                    "approve_url": self.turn.approval_link(),
                }
            )
        elif isinstance(event, ClientCalls):
            self.client_calls.extend(event.calls)
        elif isinstance(event, ErrorEvent):
            self.error = event.message
        elif isinstance(event, TurnDone) and self.approvals:
            note = approval_note(self.approvals)
            self.text.append(note)
            return note
        return None

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.client_calls else "stop"

    def extension(self) -> JSON:
        return {
            "conversation_id": self.turn.conversation_id,
            "plugin_ids": list(self.turn.plugin_ids),
            "skipped_plugin_ids": list(self.turn.skipped),
            "plugin_calls": list(self.plugin_calls.values()),
            "approvals": self.approvals,
        }

    def usage(self) -> JSON:
        conversation = self.turn.conversation
        return {
            "prompt_tokens": conversation.prompt_tokens,
            "completion_tokens": conversation.completion_tokens,
            "total_tokens": conversation.prompt_tokens + conversation.completion_tokens,
        }


def approval_note(approvals: list[JSON]) -> str:
    names = ", ".join(str(approval["function_name"]) for approval in approvals)
    link = approvals[0]["approve_url"]
    ids = ", ".join(f'"{approval["call_id"]}": true' for approval in approvals)
    return (
        f"\n\nThis needs your approval before it runs: {names}. Nothing was done yet. "
        f'Approve or decline at {link} (POST {{"decisions": {{{ids}}}}} with your API token).'
    )


def _tool_calls(calls: list[ToolCall]) -> list[JSON]:
    return [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for call in calls
    ]


@router.post("/chat/completions", summary="Create a chat completion")
async def create_chat_completion(
    body: ChatCompletionRequest, host: CurrentHost, caller: CurrentCaller
) -> Any:
    messages = parse_messages(body.messages)
    tools = parse_tools(body.tools)
    turn = await host.openai.turns.open(
        caller.user,
        messages,
        client_tools=tools,
        plugins=plugin_choice(body.powerstrip),
        title="Chat completion",
        sampling=chat_sampling(
            temperature=body.temperature,
            top_p=body.top_p,
            max_tokens=body.max_completion_tokens or body.max_tokens,
            stop=body.stop,
            seed=body.seed,
            presence_penalty=body.presence_penalty,
            frequency_penalty=body.frequency_penalty,
            response_format=body.response_format,
        ),
    )
    completion_id = "chatcmpl-" + secrets.token_hex(12)
    created = int(time.time())
    if body.stream:
        usage = bool((body.stream_options or {}).get("include_usage"))
        return StreamingResponse(
            _stream(turn, completion_id, created, body.model, usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    answer = _Answer(turn)
    async for event in turn.run():
        answer.note(event)
    if answer.error is not None and not answer.text and not answer.client_calls:
        return openai_error(502, answer.error, kind="server_error")
    message: JSON = {"role": "assistant", "content": "".join(answer.text) or None, "refusal": None}
    if answer.client_calls:
        message["tool_calls"] = _tool_calls(answer.client_calls)
    return JSONResponse(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": body.model,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": answer.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": answer.usage(),
            "powerstrip": answer.extension(),
        }
    )


class _Chunks:
    """The `chat.completion.chunk` events of one stream; what they all share encoded once.

    A chunk is the JSON `sse()` would write for it, byte for byte: the envelope (id, object,
    created, model, system_fingerprint) is the same in every chunk, so only the delta, the
    finish reason and any extension field are encoded for each.
    """

    def __init__(self, completion_id: str, created: int, model: str) -> None:
        envelope = _json(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
            }
        )
        self._head = f'data: {envelope[:-1]},"choices":[{{"index":0,"delta":'

    def text(self, text: str) -> str:
        """A chunk whose delta is `text`: the event of every piece of the answer."""
        return (
            f'{self._head}{{"content":{_json(text)}}},"finish_reason":null,"logprobs":null}}]}}\n\n'
        )

    def chunk(self, delta: JSON, finish: str | None = None, **extra: Any) -> str:  # Any: JSON
        more = "".join(f",{_json(name)}:{_json(value)}" for name, value in extra.items())
        return (
            f'{self._head}{_json(delta)},"finish_reason":{_json(finish)},"logprobs":null}}]'
            f"{more}}}\n\n"
        )


def _json(value: Any) -> str:  # Any: JSON
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def _stream(
    turn: ApiTurn, completion_id: str, created: int, model: str, include_usage: bool
) -> AsyncIterator[str]:
    chunks = _Chunks(completion_id, created, model)
    chunk = chunks.chunk
    answer = _Answer(turn)
    yield chunk({"role": "assistant", "content": ""})
    async for event in turn.run():
        delta = answer.note(event)
        if delta:
            yield chunks.text(delta)
        elif isinstance(event, CallFinished):
            yield chunk({}, powerstrip={"plugin_call": answer.plugin_calls[event.call_id]})
    if answer.error is not None:
        yield sse({"error": {"message": answer.error, "type": "server_error", "code": None}})
        yield sse_done()
        return
    if answer.client_calls:
        yield chunk(
            {
                "tool_calls": [
                    {"index": index, **call}
                    for index, call in enumerate(_tool_calls(answer.client_calls))
                ]
            }
        )
    yield chunk({}, answer.finish_reason, powerstrip=answer.extension())
    if include_usage:
        yield sse(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": answer.usage(),
            }
        )
    yield sse_done()
