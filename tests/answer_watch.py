"""Every answer any host app gives during the session, kept for the suite-wide secret scan.

`install()` (called once, by `tests/conftest.py`, before any test module imports the app
factory) makes `create_app` put `AnswerRecorder` outermost on every app it builds, so every
answer of the REST API, `/v1`, `/mcp`, the web pages and the OAuth pages, whichever test and
whichever client made the request, reaches `secret_watch.record_answer`: status, headers and
body. The app is otherwise the real one; only a copy of what it sends is taken.

A few answers carry a secret by design: the one time a new API token is shown to its owner,
and the token endpoint of MCP's OAuth (their bodies are not kept, their headers are); and the
consent page's answer, which sends the browser back to the MCP client with its authorization
code in the `Location` (that one header is not kept).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

from tests import secret_watch

__all__ = ["AnswerRecorder", "install"]

# (method, path) of the answers that show a newly issued token, once, to the user who asked.
ISSUING = frozenset(
    {("POST", "/api/tokens"), ("POST", "/settings/tokens"), ("POST", "/oauth/token")}
)
# (method, path) of the answers whose redirect carries an OAuth authorization code.
CODE_REDIRECTS = frozenset({("POST", "/oauth/consent")})

Message = dict[str, Any]  # Any: ASGI messages are loosely typed dicts


class AnswerRecorder:
    """ASGI middleware: hands each HTTP answer, head and body, to `secret_watch`."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        head: list[bytes] = []
        body: list[bytes] = []
        keep_body = (method, path) not in ISSUING
        keep_location = (method, path) not in CODE_REDIRECTS

        async def copy(message: Message) -> None:
            if message["type"] == "http.response.start":
                head.append(f"{method} {path} -> {message['status']}".encode())
                head.extend(
                    name + b": " + value
                    for name, value in message.get("headers", [])
                    if keep_location or name.lower() != b"location"
                )
            elif message["type"] == "http.response.body" and keep_body:
                body.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, copy)
        finally:
            # Also when the client went away mid-stream: what was sent until then counts.
            where = f"{method} {path}"
            secret_watch.record_answer(where, b"\r\n".join(head) + b"\r\n\r\n" + b"".join(body))


def install() -> None:
    """Make `powerstrip.server.create_app` (wherever it was imported) add the recorder."""
    import powerstrip.server
    import powerstrip.server.app

    real = powerstrip.server.app.create_app
    if getattr(real, "_records_answers", False):
        return

    @functools.wraps(real)
    def create_app(*args: Any, **kwargs: Any) -> Any:  # Any: the factory's own signature
        app = real(*args, **kwargs)
        app.add_middleware(AnswerRecorder)
        return app

    create_app._records_answers = True  # type: ignore[attr-defined]
    for module in list(sys.modules.values()):
        if getattr(module, "create_app", None) is real:
            module.create_app = create_app  # type: ignore[attr-defined]
