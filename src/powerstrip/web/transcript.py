"""A conversation as the chat page shows it: messages, plugin call cards, waiting approvals.

The history holds the model's tool calls and the tool messages answering them; the call log holds
what was sent and received (redacted when written). A call card joins the two: each executed
tool call is matched, in order, with the next logged call of the same function made between the
message that asked for it and the message that answered it (a declined or unknown call answers
without a log row, so it is skipped). The time window matters after an edit or a regeneration:
the calls of the removed turns stay in the log, older than every message after the rewind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from powerstrip.host import ChatView, FeedbackInfo

__all__ = ["Approval", "CallCard", "Turn", "build_transcript", "pretty_json"]

_DECLINED = "The user declined this call"


@dataclass
class CallCard:
    tool_call_id: str
    function_name: str
    plugin: str
    operation: str
    arguments: str
    status: str  # ok, failed, declined, waiting, running
    duration_ms: int | None = None
    record_id: str | None = None
    status_code: int | None = None


@dataclass
class Approval:
    call_id: str
    function_name: str
    plugin: str
    operation: str
    arguments: str
    can_always_allow: bool


@dataclass
class Turn:
    """One message as shown: the user's, or an answer with the calls made on its way."""

    role: str  # user or assistant
    seq: int
    text: str
    calls: list[CallCard] = field(default_factory=list)
    feedback: FeedbackInfo | None = None


def pretty_json(text: str) -> str:
    """JSON text indented for reading; anything else as it is."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, TypeError):
        return text


def _made_within(
    record: dict[str, Any],  # Any: a call log record's JSON
    asked: datetime | None,
    answered: datetime | None,
) -> bool:
    """Whether the logged call ran after the message asking for it and before its answer."""
    started = datetime.fromisoformat(record["started_at"])
    finished = datetime.fromisoformat(record["finished_at"] or record["started_at"])
    return (asked is None or started >= asked) and (answered is None or finished <= answered)


def _split(function_name: str, plugins: dict[str, str]) -> tuple[str, str]:
    namespace, _, operation = function_name.partition("__")
    return plugins.get(namespace, namespace), operation or function_name


def build_transcript(
    view: ChatView,
    calls: list[dict[str, Any]],  # Any: the call log's JSON records
    feedback: dict[int, FeedbackInfo],
    plugin_names: dict[str, str],
) -> tuple[list[Turn], list[Approval]]:
    """The turns to show, and the approvals the conversation waits for."""
    unused = list(calls)
    # When each message was written, if the view says (it always does from host.chats).
    times = view.times if len(view.times) == len(view.messages) else None
    answers: dict[str, str] = {}
    answered_at: dict[str, datetime] = {}
    for index, message in enumerate(view.messages):
        if message.role == "tool" and message.tool_call_id:
            answers[message.tool_call_id] = message.content or ""
            if times is not None:
                answered_at[message.tool_call_id] = times[index]
    pending = {p.call_id for p in view.pending}
    turns: list[Turn] = []
    waiting: list[CallCard] = []  # calls made since the last shown answer
    for index, message in enumerate(view.messages):
        seq = index + 1
        if message.role == "user":
            turns.append(Turn("user", seq, message.content or ""))
            waiting = []
        elif message.role == "assistant":
            for call in message.tool_calls:
                plugin, operation = _split(call.name, plugin_names)
                card = CallCard(call.id, call.name, plugin, operation, call.arguments, "running")
                answer = answers.get(call.id)
                if call.id in pending:
                    card.status = "waiting"
                elif answer is not None and answer.startswith(_DECLINED):
                    card.status = "declined"
                elif answer is not None:
                    asked = times[index] if times is not None else None
                    window = (asked, answered_at.get(call.id))
                    record = next(
                        (
                            r
                            for r in unused
                            if r["function_name"] == call.name and _made_within(r, *window)
                        ),
                        None,
                    )
                    if record is not None:
                        unused.remove(record)
                        card.record_id = record["id"]
                        card.duration_ms = record["duration_ms"]
                        card.status_code = record["status_code"]
                        card.status = "ok" if record["outcome"] == "ok" else "failed"
                    else:
                        card.status = "failed"
                waiting.append(card)
            if message.content:
                turns.append(Turn("assistant", seq, message.content, waiting, feedback.get(seq)))
                waiting = []
    if waiting:
        # Calls of a turn with no answer yet (paused, or cut short): shown on their own.
        turns.append(Turn("assistant", 0, "", waiting))
    approvals = []
    for p in view.pending:
        plugin, operation = _split(p.function_name, plugin_names)
        approvals.append(
            Approval(
                p.call_id,
                p.function_name,
                plugin,
                operation,
                pretty_json(p.arguments),
                p.can_always_allow,
            )
        )
    return turns, approvals
