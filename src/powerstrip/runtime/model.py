"""The `Model` protocol: what the conversation loop needs from any LLM backend.

A backend streams `ModelEvent`s for one completion: text as it is written, each tool call once
it is complete, then `ModelDone`. Backends convert their own errors into `ModelError` at the
boundary, so the loop never sees a third-party exception.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = [
    "TOOL_RESULT_TAG",
    "ChatMessage",
    "Model",
    "ModelDone",
    "ModelEvent",
    "ModelTextDelta",
    "ModelToolCall",
    "Role",
    "SamplingOptions",
    "ToolCall",
    "ToolSpec",
    "mark_tool_result",
]

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function the model may call: its name, description and JSON Schema parameters."""

    name: str
    description: str
    # Any: a JSON Schema object, as arbitrary JSON.
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object"})

    def as_openai_tool(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call the model asked for; `arguments` is the JSON text the model wrote, unparsed."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a conversation, in the shape every OpenAI-compatible model takes."""

    role: Role
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    # For a tool message: the namespace of the plugin whose call it answers, so the backend
    # can mark the content as that plugin's data. Stored with the message; the conversation
    # works it out for a message that lacks it (older rows, a client's own tool results).
    source_plugin: str | None = None

    def as_openai(self) -> dict[str, Any]:  # Any: the OpenAI wire format is JSON
        message: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in self.tool_calls
            ]
        if self.tool_call_id is not None:
            message["tool_call_id"] = self.tool_call_id
        return message


TOOL_RESULT_TAG = "plugin_result"
_TAG_IN_CONTENT = re.compile(rf"<(/?)({TOOL_RESULT_TAG})", re.IGNORECASE)


def mark_tool_result(plugin: str, content: str) -> str:
    """`content` wrapped as data from `plugin`: `<plugin_result plugin="NAME">...</plugin_result>`.

    The plugin's words stay recognisably its own (spec §8: responses go to the model as data,
    clearly delimited): a tag inside the content is neutralised (`&lt;plugin_result`), so a
    plugin cannot close the wrapper early and speak as the user or the system. `plugin` is a
    namespace (`[A-Za-z0-9_-]`), safe inside the quotes.
    """
    inner = _TAG_IN_CONTENT.sub(r"&lt;\1\2", content)
    return f'<{TOOL_RESULT_TAG} plugin="{plugin}">\n{inner}\n</{TOOL_RESULT_TAG}>'


@dataclass(frozen=True, slots=True)
class ModelTextDelta:
    """A piece of the model's text answer, as it is written."""

    text: str


@dataclass(frozen=True, slots=True)
class ModelToolCall:
    """A complete tool call (arguments fully streamed)."""

    call: ToolCall


@dataclass(frozen=True, slots=True)
class ModelDone:
    """The completion ended; `finish_reason` as the backend reported it."""

    finish_reason: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


ModelEvent = ModelTextDelta | ModelToolCall | ModelDone


@dataclass(frozen=True, slots=True)
class SamplingOptions:
    """How the caller wants the model to sample; None (or empty) leaves the backend's default.

    An API caller's `temperature`, `max_tokens`, `stop`, ... of OpenAI's Chat Completions,
    checked at the edge. A backend passes on what it can (the OpenAI-compatible one: all of
    it, in Chat Completions' names) and ignores the rest (the offline router: all of it).
    """

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None  # of the answer; sent as `max_completion_tokens`
    stop: tuple[str, ...] = ()
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    # Any: Chat Completions' `response_format` object (`{"type": "json_schema", ...}`), JSON.
    response_format: Mapping[str, Any] | None = None

    def as_openai(self) -> dict[str, Any]:  # Any: the OpenAI wire format is JSON
        """The options set, as Chat Completions request fields."""
        fields: dict[str, Any] = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_completion_tokens": self.max_tokens,
            "seed": self.seed,
            "presence_penalty": self.presence_penalty,
            "frequency_penalty": self.frequency_penalty,
            "stop": list(self.stop) or None,
            "response_format": dict(self.response_format) if self.response_format else None,
        }
        return {key: value for key, value in fields.items() if value is not None}

    @classmethod
    def from_openai(cls, fields: Mapping[str, Any]) -> SamplingOptions:  # Any: JSON
        """The options `as_openai` gave (as kept in the store); unknown or ill-typed fields
        are left out, never guessed at."""

        def number(name: str) -> float | None:
            value = fields.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return None
            return float(value)

        def whole(name: str) -> int | None:
            value = fields.get(name)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        stop = fields.get("stop")
        response_format = fields.get("response_format")
        return cls(
            temperature=number("temperature"),
            top_p=number("top_p"),
            max_tokens=whole("max_completion_tokens"),
            stop=tuple(s for s in stop if isinstance(s, str)) if isinstance(stop, list) else (),
            seed=whole("seed"),
            presence_penalty=number("presence_penalty"),
            frequency_penalty=number("frequency_penalty"),
            response_format=response_format if isinstance(response_format, dict) else None,
        )


class Model(Protocol):
    """An LLM backend: OpenAI-compatible over HTTP, or the built-in offline router."""

    @property
    def name(self) -> str:
        """A short name for logs and the debug view (`openai:gpt-4o-mini`, `offline`)."""
        ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        *,
        sampling: SamplingOptions | None = None,
    ) -> AsyncIterator[ModelEvent]:
        """Stream one completion. Raises `ModelError` when the backend fails, even mid-stream.

        `sampling` is the caller's wish; a backend that cannot honour an option ignores it.
        """
        ...
