"""Events serialise to JSON with their kind."""

from __future__ import annotations

import json

from powerstrip.runtime.events import (
    ApprovalNeeded,
    CallFinished,
    TextDelta,
    TurnDone,
    event_to_dict,
)


def test_events_become_json_with_a_type() -> None:
    assert event_to_dict(TextDelta("hi")) == {"type": "text_delta", "text": "hi"}
    assert event_to_dict(TurnDone("x", paused=True)) == {
        "type": "turn_done",
        "text": "x",
        "paused": True,
    }
    approval = event_to_dict(ApprovalNeeded("c1", "todo__add", "{}", True))
    assert approval["type"] == "approval_needed"
    assert approval["can_always_allow"] is True
    finished = CallFinished("id", "f", "ok", 200, 12, None)
    assert json.loads(json.dumps(event_to_dict(finished)))["status_code"] == 200
