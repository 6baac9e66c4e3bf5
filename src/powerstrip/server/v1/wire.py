"""What every `/v1` route shares: Server-Sent Events, list parameters, JSON answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from fastapi.responses import StreamingResponse

from powerstrip.host import PageRequest

__all__ = ["Paging", "event_stream", "page_request", "sse", "sse_done"]


def sse(data: Any, event: str | None = None) -> str:  # Any: JSON
    """One Server-Sent Event: `event: NAME` (when given) and its JSON `data`."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event}\ndata: {text}\n\n" if event else f"data: {text}\n\n"


def sse_done() -> str:
    """The end of an OpenAI stream."""
    return "data: [DONE]\n\n"


def event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    # Proxies must not buffer a stream the client is reading as it comes.
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def page_request(  # async: no worker thread (deps.get_host)
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
    after: Annotated[str | None, Query(max_length=100)] = None,
    before: Annotated[str | None, Query(max_length=100)] = None,
) -> PageRequest:
    """OpenAI's list parameters."""
    return PageRequest(limit=limit, order=order, after=after, before=before)


Paging = Annotated[PageRequest, Depends(page_request)]
