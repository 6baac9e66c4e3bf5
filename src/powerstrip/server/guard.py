"""The door every request passes first: the caller is known, and the body stays small.

FastAPI reads and parses a request's body before it solves the route's dependencies, so an
authentication dependency runs only after the body is in memory: anyone could make the server
buffer and parse 200 MB without a token. This middleware runs before any route:

- a body declared (`Content-Length`) bigger than `POWERSTRIP_MAX_REQUEST_BYTES` is answered 413
  before one byte of it is read, and a streamed (chunked) body is cut off with a 413 as soon as
  it passes the cap;
- under `/api/`, the caller is authenticated from the headers alone (401 before the body is
  read); the user is kept in the request's state for the `CurrentUser` dependency;
- every request gets an id (the caller's `X-Request-ID` when it is a short plain token, else a
  new one), bound to every log record made while it is served and sent back in `X-Request-ID`.

A few paths take bigger bodies by design (an audio upload): `route_caps` gives each its own cap,
applied the same way. A path there may name a segment in braces (`/v1/uploads/{id}/parts`),
which stands for any one segment.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from powerstrip.errors import PowerstripError
from powerstrip.logs import log_ids
from powerstrip.server.deps import USER_STATE_KEY, authenticate
from powerstrip.server.errors import (
    BodyTooLargeError,
    error_response,
    status_for,
    too_large_response,
)

__all__ = ["RequestGuard"]

_API_PREFIX = "/api/"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _path_pattern(path: str) -> re.Pattern[str]:
    """`/v1/uploads/{id}/parts` as a pattern: a segment in braces is any one segment."""
    segments = path.split("/")
    return re.compile(
        "/".join(
            "[^/]+" if part.startswith("{") and part.endswith("}") else re.escape(part)
            for part in segments
        )
    )


class RequestGuard:
    """ASGI middleware: cap request bodies at `max_bytes` (or the path's own cap in
    `route_caps`), authenticate `/api/` callers first."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, route_caps: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        caps = dict(route_caps or {})
        self.route_caps = {path: cap for path, cap in caps.items() if "{" not in path}
        self._pattern_caps = [
            (_path_pattern(path), cap) for path, cap in caps.items() if "{" in path
        ]

    def cap_of(self, path: str) -> int:
        """The body cap of a request to `path`."""
        cap = self.route_caps.get(path)
        if cap is not None:
            return cap
        for pattern, pattern_cap in self._pattern_caps:
            if pattern.fullmatch(path):
                return pattern_cap
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        given = headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["x-request-id"] = request_id
            await send(message)

        with log_ids(request=request_id):
            await self._guarded(scope, receive, send_with_id, headers)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        cap = self.cap_of(scope["path"])
        declared = _content_length(headers)
        if declared is not None and declared > cap:
            await too_large_response(cap)(scope, receive, send)
            return
        if scope["path"].startswith(_API_PREFIX):
            client = scope.get("client")
            try:
                user = await authenticate(
                    scope["app"].state.host, headers, client[0] if client else ""
                )
            except PowerstripError as exc:
                response = error_response(
                    status_for(exc), type(exc).__name__, exc.message, where=exc.where, fix=exc.fix
                )
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})[USER_STATE_KEY] = user
        await self._capped(scope, receive, send, cap)

    async def _capped(self, scope: Scope, receive: Receive, send: Send, cap: int) -> None:
        received = 0
        started = False

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    # An HTTPException: FastAPI re-raises it from its body reading, and the
                    # app's handler answers it; the except below covers any other reader.
                    raise BodyTooLargeError(cap)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, capped_receive, watched_send)
        except BodyTooLargeError:
            if started:
                raise
            await too_large_response(cap)(scope, receive, send)


def _content_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None  # absent or malformed: the server's HTTP parser has the final word
    return int(value)
