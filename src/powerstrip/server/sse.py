"""Turn events as Server-Sent Events, or collected into one JSON answer for simple clients."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import JSONResponse, StreamingResponse

from powerstrip.runtime import Event, TurnDone, event_to_dict

__all__ = ["events_response"]


async def _stream(events: AsyncIterator[Event]) -> AsyncIterator[str]:
    async for event in events:
        data = event_to_dict(event)
        yield f"event: {data['type']}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _collect(events: AsyncIterator[Event]) -> dict[str, Any]:  # Any: JSON values
    collected = []
    done = TurnDone("")
    async for event in events:
        collected.append(event_to_dict(event))
        if isinstance(event, TurnDone):
            done = event
    return {"text": done.text, "paused": done.paused, "events": collected}


async def events_response(
    events: AsyncIterator[Event], *, stream: bool
) -> StreamingResponse | JSONResponse:
    """`text/event-stream` (one `event:`/`data:` pair per event) or, unstreamed, JSON."""
    if stream:
        return StreamingResponse(
            _stream(events),
            media_type="text/event-stream",
            # Proxies must not buffer a stream the user is watching.
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return JSONResponse(await _collect(events))
