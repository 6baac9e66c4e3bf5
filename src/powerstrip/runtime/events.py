"""What a conversation turn tells its client, as it happens (streamed as SSE by the server)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from powerstrip.runtime.model import ToolCall

__all__ = [
    "ApprovalNeeded",
    "CallFinished",
    "CallStarted",
    "ClientCalls",
    "ErrorEvent",
    "Event",
    "TextDelta",
    "TurnDone",
    "event_to_dict",
]


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the assistant's answer."""

    text: str


@dataclass(frozen=True, slots=True)
class CallStarted:
    """A plugin call is being made."""

    call_id: str
    function_name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class CallFinished:
    """A plugin call ended (well or not)."""

    call_id: str
    function_name: str
    outcome: str
    status_code: int | None
    duration_ms: int
    error: str | None


@dataclass(frozen=True, slots=True)
class ApprovalNeeded:
    """The run is paused: the user must approve or decline this consequential call."""

    approval_id: str
    function_name: str
    arguments: str
    # Whether "always allow" may be offered (the operation is declared not consequential).
    can_always_allow: bool


@dataclass(frozen=True, slots=True)
class ClientCalls:
    """The model called functions the client runs (an API caller's own tools): the turn ends
    here, and the client answers them with the next request."""

    calls: tuple[ToolCall, ...]


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """Something failed that the user should know about; the turn ends after it."""

    message: str


@dataclass(frozen=True, slots=True)
class TurnDone:
    """The turn ended: the assistant's full text, or paused waiting for an approval."""

    text: str
    paused: bool = False


Event = (
    TextDelta | CallStarted | CallFinished | ApprovalNeeded | ClientCalls | ErrorEvent | TurnDone
)


def event_to_dict(event: Event) -> dict[str, Any]:  # Any: JSON values
    """The event as JSON, with its kind: `{"type": "text_delta", "text": ...}`."""
    names = {
        TextDelta: "text_delta",
        CallStarted: "call_started",
        CallFinished: "call_finished",
        ApprovalNeeded: "approval_needed",
        ClientCalls: "client_calls",
        ErrorEvent: "error",
        TurnDone: "turn_done",
    }
    data = {name: getattr(event, name) for name in event.__slots__}
    if isinstance(event, ClientCalls):
        data["calls"] = [
            {"id": call.id, "name": call.name, "arguments": call.arguments} for call in event.calls
        ]
    return {"type": names[type(event)], **data}
