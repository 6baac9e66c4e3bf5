"""Responses API items ↔ the runtime's chat messages, and the citations of a file search.

Input items arrive in every shape the Responses API allows (a string, messages with text parts,
function calls and their outputs, earlier output items); the runtime speaks chat messages. This
module turns one into the other, numbers what the model reads of a file search, and turns the
model's `[n]` markers into file citations naming the file and quoting the passage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from powerstrip.errors import InvalidInputError
from powerstrip.host.api_objects import new_id
from powerstrip.runtime import ChatMessage, ToolCall

__all__ = [
    "FILE_SEARCH_TOOL",
    "citations",
    "normalize_input",
    "search_output",
    "to_messages",
]

JSON = dict[str, Any]  # Any: OpenAI's JSON

# The function the model calls to search the vector stores of a `file_search` tool.
FILE_SEARCH_TOOL = "file_search"
_MARKER = re.compile(r"\[(\d{1,2})\]")
_QUOTE_LIMIT = 500


def normalize_input(value: Any) -> list[JSON]:  # Any: the request's `input`, unvalidated
    """The request's `input` as a list of items, each with an `id` and a `type`."""
    if isinstance(value, str):
        value = [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list):
        raise InvalidInputError(
            "input must be a string or a list of items", where="input", fix="send a string"
        )
    items: list[JSON] = []
    for position, raw in enumerate(value):
        if not isinstance(raw, dict):
            raise InvalidInputError(
                f"input[{position}] is not an object", where=f"input[{position}]", fix=_FIX
            )
        item = dict(raw)
        kind = item.setdefault("type", "message")
        if kind == "message":
            if item.get("role") not in ("user", "system", "developer", "assistant"):
                raise InvalidInputError(
                    f"input[{position}] has no role user, system, developer or assistant",
                    where=f"input[{position}].role",
                    fix=_FIX,
                )
            content = item.get("content")
            if isinstance(content, str):
                part = "output_text" if item["role"] == "assistant" else "input_text"
                item["content"] = [{"type": part, "text": content}]
            elif not isinstance(content, list):
                raise InvalidInputError(
                    f"input[{position}].content must be a string or a list of parts",
                    where=f"input[{position}].content",
                    fix=_FIX,
                )
            item.setdefault("id", new_id("msg_"))
            item.setdefault("status", "completed")
        elif kind == "function_call_output":
            if not isinstance(item.get("call_id"), str):
                raise InvalidInputError(
                    f"input[{position}] needs the call_id it answers",
                    where=f"input[{position}].call_id",
                    fix="send the call_id of the function_call",
                )
            output = item.get("output")
            item["output"] = output if isinstance(output, str) else json.dumps(output)
            item.setdefault("id", new_id("fco_"))
        elif kind == "item_reference":
            raise InvalidInputError(
                "item references are not supported",
                where=f"input[{position}]",
                fix="send the item itself, or use previous_response_id",
            )
        else:
            item.setdefault("id", new_id("item_"))
        items.append(item)
    return items


_FIX = 'send input as "text" or [{"role": "user", "content": "text"}]'


def _text(content: Any) -> str:  # Any: content parts
    if isinstance(content, str):
        return content
    parts = []
    for part in content or ():
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            parts.append(part["text"])
        elif isinstance(part, dict) and part.get("type") == "refusal":
            parts.append(str(part.get("refusal", "")))
    return "".join(parts)


def to_messages(items: Sequence[JSON]) -> list[ChatMessage]:
    """Items as the chat history the model reads, tool calls next to their answers."""
    messages: list[ChatMessage] = []
    for item in items:
        kind = item.get("type")
        if kind == "message":
            role = item.get("role")
            text = _text(item.get("content"))
            if role == "assistant":
                messages.append(ChatMessage("assistant", text))
            elif role in ("system", "developer"):
                messages.append(ChatMessage("system", text))
            elif role == "user":
                messages.append(ChatMessage("user", text))
        elif kind in ("function_call", "file_search_call", "mcp_call"):
            call = _as_call(item)
            last = messages[-1] if messages else None
            if last is not None and last.role == "assistant" and not _answered_after(messages):
                messages[-1] = ChatMessage(
                    "assistant", last.content, tool_calls=(*last.tool_calls, call)
                )
            else:
                messages.append(ChatMessage("assistant", None, tool_calls=(call,)))
            if kind == "file_search_call":
                messages.append(
                    ChatMessage(
                        "tool", search_output(item.get("results") or []), tool_call_id=call.id
                    )
                )
            elif kind == "mcp_call":
                output = item.get("output") or item.get("error") or ""
                messages.append(ChatMessage("tool", str(output), tool_call_id=call.id))
        elif kind == "function_call_output":
            messages.append(
                ChatMessage("tool", str(item.get("output", "")), tool_call_id=item["call_id"])
            )
    return messages


def _answered_after(messages: list[ChatMessage]) -> bool:
    return bool(messages) and messages[-1].role == "tool"


def _as_call(item: JSON) -> ToolCall:
    kind = item.get("type")
    if kind == "function_call":
        return ToolCall(
            str(item.get("call_id") or item.get("id")),
            str(item.get("name", "")),
            str(item.get("arguments", "{}")),
        )
    if kind == "file_search_call":
        queries = item.get("queries") or []
        return ToolCall(
            str(item.get("id")),
            FILE_SEARCH_TOOL,
            json.dumps({"query": queries[0] if queries else ""}),
        )
    return ToolCall(str(item.get("id")), str(item.get("name", "")), str(item.get("arguments", "")))


def search_output(results: Sequence[JSON], *, start: int = 1) -> str:
    """What the model reads of a file search: numbered passages it can cite as `[n]`
    (numbered from `start`: a response's searches number their passages one after another)."""
    if not results:
        return "No passage of the files matches the search."
    lines = [
        f"Passages from the user's files. Cite a passage you use with its number, like [{start}]."
    ]
    for number, result in enumerate(results, start):
        lines.append(f"[{number}] ({result.get('filename', '')}) {result.get('text', '')}")
    return "\n".join(lines)


def citations(text: str, results: Sequence[JSON]) -> list[JSON]:
    """File citations for the `[n]` markers in `text` (each naming the file and quoting the
    passage); without markers, one citation per file the search found, at the end."""
    annotations: list[JSON] = []
    for match in _MARKER.finditer(text):
        number = int(match.group(1))
        if 1 <= number <= len(results):
            annotations.append(_citation(results[number - 1], match.end()))
    if annotations or not text:
        return annotations
    seen: set[str] = set()
    for result in results:
        if result["file_id"] not in seen:
            seen.add(result["file_id"])
            annotations.append(_citation(result, len(text)))
    return annotations


def _citation(result: JSON, index: int) -> JSON:
    return {
        "type": "file_citation",
        "file_id": result["file_id"],
        "filename": result.get("filename", ""),
        "index": index,
        # Not in OpenAI's Responses shape (its Assistants citations have it): the passage cited.
        "quote": str(result.get("text", ""))[:_QUOTE_LIMIT],
    }
