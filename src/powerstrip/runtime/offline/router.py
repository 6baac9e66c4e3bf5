"""`OfflineRouter`: a `Model` that uses plugins without any LLM, from the history alone.

Each completion looks at the end of the history:

- tool results → render them, saying which operation was called with which arguments;
- a user message → pick an operation (or say that none fits), fill its arguments, and either
  call it or ask for the one required argument that is missing.

A question asks in a fixed form ("To call `X` I need `param`"), so the next turn can recognise
the answer from the history: any server process can continue the conversation.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from powerstrip.errors import ModelError
from powerstrip.runtime.model import (
    ChatMessage,
    ModelDone,
    ModelEvent,
    ModelTextDelta,
    ModelToolCall,
    ToolCall,
    ToolSpec,
)
from powerstrip.runtime.offline.arguments import answer_value, coerce, fill_arguments
from powerstrip.runtime.offline.followup import (
    earlier_arguments,
    last_records,
    ordinal,
    record_arguments,
)
from powerstrip.runtime.offline.params import Param, params_of
from powerstrip.runtime.offline.render import is_declined, render_result
from powerstrip.runtime.offline.scan import scan
from powerstrip.runtime.offline.select import ABSTAIN_BELOW, Selection, select

__all__ = ["OfflineRouter"]

logger = logging.getLogger(__name__)

_QUESTION = re.compile(r"^To call `([^`]+)` I need `([^`]+)`")
# An answer longer than this is a new request, not the value that was asked for.
_ANSWER_WORDS = 12
_MENU_SIZE = 8


@dataclass(frozen=True, slots=True)
class _Decision:
    """What to do for a user message: call, or say something (a question, an abstention)."""

    text: str = ""
    call: ToolCall | None = None


def _dumps(arguments: dict[str, Any]) -> str:  # Any: JSON
    return json.dumps(arguments, ensure_ascii=False)


class OfflineRouter:
    """Chooses and calls plugin operations from the user's words; no API key, no network."""

    def __init__(
        self,
        *,
        threshold: float = ABSTAIN_BELOW,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.threshold = threshold
        self._today = today

    @property
    def name(self) -> str:
        return "offline"

    async def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]
    ) -> AsyncIterator[ModelEvent]:
        """Answer from the history: one tool call, or a text reply."""
        try:
            decision = self._decide(messages, tools)
        except ModelError:
            raise
        except Exception as exc:
            # The router is heuristics over arbitrary text and schemas: a bug must end this
            # turn as a model failure the loop reports, never as a crash of the server.
            logger.exception("offline.failed")
            raise ModelError(
                f"the offline router could not handle this message ({type(exc).__name__})",
                where="offline router",
                fix="rephrase the message, or configure a model URL",
            ) from exc
        if decision.text:
            yield ModelTextDelta(decision.text)
        if decision.call is not None:
            yield ModelToolCall(decision.call)
            yield ModelDone("tool_calls")
        else:
            yield ModelDone("stop")

    # -- decisions ---------------------------------------------------------------------------

    def _decide(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]) -> _Decision:
        """The reply to the history as it stands (no I/O; `stream` wraps it)."""
        history = [m for m in messages if m.role != "system"]
        if history and history[-1].role == "tool":
            return _Decision(self._results(history))
        user_index = next(
            (i for i in range(len(history) - 1, -1, -1) if history[i].role == "user"), None
        )
        if user_index is None:
            return _Decision("Ask me something, and I will pick a plugin operation for it.")
        text = history[user_index].content or ""
        if not tools:
            return _Decision(
                "No plugin is enabled in this conversation, so there is nothing I can call. "
                "Enable a plugin and ask again."
            )
        earlier = history[:user_index]
        answered = self._answered_question(earlier, text, tools)
        if answered is not None:
            return answered
        return self._request(text, tools, earlier)

    def _request(
        self,
        text: str,
        tools: Sequence[ToolSpec],
        earlier: Sequence[ChatMessage],
        preset: dict[str, Any] | None = None,
        tool: ToolSpec | None = None,
    ) -> _Decision:
        pointed = ordinal(text)
        records = last_records(earlier) if pointed is not None else None
        # "the second one" names a list item, not an operation: leave it out of the choice.
        query = text
        if pointed is not None and records:
            query = text[: pointed[1][0]] + " " + text[pointed[1][1] :]
        if tool is None:
            selection = select(query, tools, threshold=self.threshold)
            chosen = selection.chosen
            if chosen is None:
                return _Decision(self._abstain(text, selection, tools))
            tool = chosen.tool
        params = params_of(tool.parameters)
        filled = fill_arguments(tool.parameters, scan(query, self._today()), preset=preset)
        arguments = dict(filled.arguments)
        missing = list(filled.missing)
        if missing and records and pointed is not None:
            position = pointed[0]
            if -len(records) <= position < len(records):
                found = record_arguments(missing, records[position])
                arguments.update(found)
                missing = [p for p in missing if p.name not in found]
        if missing:
            carried = earlier_arguments(earlier)
            for param in list(missing):
                if param.name in carried:
                    arguments[param.name] = carried[param.name]
                    missing.remove(param)
        by_name = {param.name: param for param in params}
        arguments = {
            name: coerce(by_name[name], value) if name in by_name else value
            for name, value in arguments.items()
        }
        if missing:
            return _Decision(self._ask(tool, missing[0], arguments))
        call = ToolCall(f"offline-{uuid.uuid4().hex[:12]}", tool.name, _dumps(arguments))
        return _Decision(call=call)

    def _answered_question(
        self, earlier: Sequence[ChatMessage], answer: str, tools: Sequence[ToolSpec]
    ) -> _Decision | None:
        """If the router asked for an argument last turn, continue that request with it."""
        if len(earlier) < 2 or earlier[-1].role != "assistant" or earlier[-1].tool_calls:
            return None
        match = _QUESTION.match(earlier[-1].content or "")
        if match is None or len(answer.split()) > _ANSWER_WORDS:
            return None
        tool = next((t for t in tools if t.name == match[1]), None)
        request_index = next(
            (i for i in range(len(earlier) - 2, -1, -1) if earlier[i].role == "user"), None
        )
        if tool is None or request_index is None:
            return None
        param = next((p for p in params_of(tool.parameters) if p.name == match[2]), None)
        if param is None:
            return None
        value = answer_value(param, scan(answer, self._today()))
        if value is None:
            return _Decision(self._ask(tool, param, {}, again=True))
        # Earlier answers in a chain of questions were presets too: rebuild them first.
        preset = self._earlier_answers(earlier[: request_index + 1], tool)
        preset[param.name] = value
        request = earlier[request_index].content or ""
        return self._request(request, tools, earlier[:request_index], preset, tool)

    def _earlier_answers(self, earlier: Sequence[ChatMessage], tool: ToolSpec) -> dict[str, Any]:
        """Answers to questions about `tool` asked just before `earlier`'s last user message."""
        preset: dict[str, Any] = {}
        params = {p.name: p for p in params_of(tool.parameters)}
        index = len(earlier) - 1
        while index >= 2 and earlier[index - 1].role == "assistant":
            match = _QUESTION.match(earlier[index - 1].content or "")
            if match is None or match[1] != tool.name or match[2] not in params:
                break
            value = answer_value(
                params[match[2]], scan(earlier[index].content or "", self._today())
            )
            if value is not None:
                preset.setdefault(match[2], value)
            index -= 2
        return preset

    # -- replies -----------------------------------------------------------------------------

    def _ask(self, tool: ToolSpec, param: Param, found: dict[str, Any], again: bool = False) -> str:
        what = f" ({param.description.strip().rstrip('.')})" if param.description else ""
        lines = [f"To call `{tool.name}` I need `{param.name}`{what}."]
        if param.enum:
            lines.append("One of: " + ", ".join(str(m) for m in param.enum) + ".")
        if found:
            lines.append(f"So far I have {_dumps(found)}.")
        if again:
            lines.append("I could not read a value from your answer.")
        lines.append(f"What should `{param.name}` be?")
        return " ".join(lines)

    def _abstain(self, text: str, selection: Selection, tools: Sequence[ToolSpec]) -> str:
        best = selection.best
        closest = (
            f" The closest is `{best.tool.name}` (fit {best.fit:.2f}; I call from "
            f"{selection.threshold:.2f})."
            if best is not None
            else ""
        )
        menu = "\n".join(
            f"- `{tool.name}`: {_first_sentence(tool.description)}" for tool in tools[:_MENU_SIZE]
        )
        more = f"\n- … and {len(tools) - _MENU_SIZE} more" if len(tools) > _MENU_SIZE else ""
        return (
            "I did not call any plugin: none of the enabled operations fits this request well "
            f"enough.{closest} Without a language model I can only run these operations; "
            f"ask for one of them in your own words:\n{menu}{more}"
        )

    def _results(self, history: Sequence[ChatMessage]) -> str:
        """The answer after tool results: one paragraph per call, naming call and arguments."""
        call_index = next(
            (i for i in range(len(history) - 1, -1, -1) if history[i].tool_calls), None
        )
        if call_index is None:
            return render_result(history[-1].content)
        answers = {m.tool_call_id: m.content for m in history[call_index + 1 :] if m.role == "tool"}
        parts: list[str] = []
        for call in history[call_index].tool_calls:
            if call.id not in answers:
                continue
            arguments = call.arguments or "{}"
            if is_declined(answers[call.id]):
                parts.append(f"Did not call {call.name} with {arguments}: you declined it.")
                continue
            parts.append(f"Called {call.name} with {arguments}.")
            parts.append(render_result(answers[call.id]))
        return "\n\n".join(parts)


def _first_sentence(text: str) -> str:
    sentence = text.strip().split(". ")[0].strip()
    return sentence if len(sentence) <= 160 else sentence[:159] + "…"
