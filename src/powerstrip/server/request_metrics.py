"""`RequestMetrics`: every HTTP request counted by its route template and status.

The label is the template the router matched (`/api/conversations/{conversation_id}`), never
the path: paths carry ids (one series per conversation would grow without end) and sometimes
secrets. A request no route matched counts as `unmatched`.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from powerstrip.host import observe_request

__all__ = ["RequestMetrics", "route_template"]

UNMATCHED = "unmatched"


class RequestMetrics:
    """ASGI middleware, outermost: it sees the answer to every request, refusals included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500  # what the server answers when the app fails before it starts answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # The routers wrote what they matched into this same scope on the way in.
            observe_request(
                scope["method"], route_template(scope), status, time.monotonic() - started
            )


def route_template(scope: Scope) -> str:
    """The route template the request matched, routers' and mounts' prefixes included.

    The innermost route the routers matched is in the scope, but with its own path only (an
    included router's prefix or a mount's path is not part of it). That path, filled with the
    request's path parameters, is the end of the request's path: what comes before it is the
    (static) prefix.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        return UNMATCHED
    params = {name: str(value) for name, value in scope.get("path_params", {}).items()}
    try:
        concrete = template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template
    path = str(scope.get("path", ""))
    if concrete and path.endswith(concrete):
        return path[: len(path) - len(concrete)] + template
    return template
