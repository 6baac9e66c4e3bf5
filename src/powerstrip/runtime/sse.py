"""Server-sent events in, as the model backends send them: the `data` of each event.

The WHATWG event-stream rules, minus what a Chat Completions stream never uses: lines end in
CR LF, LF or CR; a line starting with `:` is a comment; an event's `data` lines are joined with
LF and the event ends at a blank line; `event`, `id` and `retry` are read past. An event without
any `data` line (a bare `event: ping`) has nothing to decode and is skipped. The bytes are
decoded as UTF-8 (the format's only encoding) with replacement, as browsers do.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable

__all__ = ["sse_data"]

_DATA = b"data:"


async def sse_data(chunks: AsyncIterable[bytes]) -> AsyncGenerator[str, None]:
    """The `data` of each complete event in the byte stream, in order."""
    pending = b""
    data: list[bytes] = []
    async for chunk in chunks:
        if not chunk:
            continue
        lines = (pending + chunk).splitlines(keepends=True)
        # An unfinished last line waits for its end; so does a CR that may start a CR LF.
        pending = b"" if lines[-1].endswith(b"\n") else lines.pop()
        for line in lines:
            line = line.rstrip(b"\r\n")
            if not line:
                if data:
                    yield b"\n".join(data).decode("utf-8", "replace")
                    data = []
            elif line.startswith(_DATA):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
            elif line == b"data":
                data.append(b"")
    # A lone CR at the very end is the blank line that ends the last event. Any other event
    # still open is incomplete (the stream ended in the middle of it) and is not dispatched.
    if pending == b"\r" and data:
        yield b"\n".join(data).decode("utf-8", "replace")
