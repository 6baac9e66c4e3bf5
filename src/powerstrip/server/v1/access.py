"""Who calls `/v1`, with what scopes, before any of the body is read; and `Idempotency-Key`.

`V1Guard` authenticates the Bearer token (a Powerstrip API token, as the `openai` client sends
its `api_key`) from the headers alone, checks the scope the path needs (`files` for files,
vector stores and uploads; `chat` for everything else) and keeps the caller in the request's
state. `Idempotent` then answers a create sent again with the same `Idempotency-Key` with the
first answer (`host.openai.replays`), so a retried create never makes a second object or run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from powerstrip.errors import PowerstripError
from powerstrip.host import Host, UserInfo
from powerstrip.server.deps import authenticate
from powerstrip.server.v1.errors import openai_error, openai_error_for

__all__ = ["Caller", "CurrentCaller", "Idempotent", "V1Guard", "caller_of"]

CALLER_STATE_KEY = "powerstrip.v1.caller"
_FILE_PATHS = ("/files", "/vector_stores", "/uploads")


@dataclass(frozen=True, slots=True)
class Caller:
    """The signed-in user and the scopes of the token they called with."""

    user: UserInfo
    scopes: frozenset[str]


async def _caller(host: Host, headers: Headers, client: str) -> Caller:
    # The server's one way of reading a token (host.users underneath), scopes included.
    user = await authenticate(host, headers, client)
    return Caller(user, frozenset(scope for scope in user.scopes if user.may(scope)))


def _needed_scope(path: str) -> str:
    return "files" if path.startswith(_FILE_PATHS) else "chat"


class V1Guard:
    """ASGI middleware of the `/v1` app: the caller and their scope, or a 401/403 at once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/").endswith("/openapi.json"):
            await self.app(scope, receive, send)
            return
        host: Host = scope["app"].state.host
        client = scope.get("client")
        try:
            caller = await _caller(host, Headers(scope=scope), client[0] if client else "")
        except PowerstripError as exc:
            await openai_error_for(exc)(scope, receive, send)
            return
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        needed = _needed_scope(path)
        if needed not in caller.scopes:
            answer = openai_error(
                403,
                f"this API token lacks the `{needed}` scope",
                kind="permission_error",
                param="Authorization header",
            )
            await answer(scope, receive, send)
            return
        scope.setdefault("state", {})[CALLER_STATE_KEY] = caller
        await self.app(scope, receive, send)


async def caller_of(request: Request) -> Caller:  # async: no worker thread (deps.get_host)
    caller = request.scope.get("state", {}).get(CALLER_STATE_KEY)
    if not isinstance(caller, Caller):  # only when the guard did not run: a wiring bug
        raise RuntimeError("the /v1 guard did not authenticate this request")
    return caller


CurrentCaller = Annotated[Caller, Depends(caller_of)]


class Idempotent:
    """ASGI middleware: a POST with `Idempotency-Key` is answered once, then replayed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = Headers(scope=scope).get("idempotency-key")
        caller = scope.get("state", {}).get(CALLER_STATE_KEY)
        if scope["type"] != "http" or scope["method"] != "POST" or not key or caller is None:
            await self.app(scope, receive, send)
            return
        replays = scope["app"].state.host.openai.replays
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending its body
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        ref = replays.ref(key, scope["path"])
        try:
            replay = await replays.reserve(caller.user, ref, body)
        except PowerstripError as exc:
            await openai_error_for(exc)(scope, receive, send)
            return
        if replay is not None:
            await send(
                {
                    "type": "http.response.start",
                    "status": replay.status,
                    "headers": [
                        (b"content-type", replay.media_type.encode()),
                        (b"content-length", str(len(replay.body)).encode()),
                        (b"idempotent-replayed", b"true"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": replay.body})
            return
        await self._first(scope, receive, send, body, caller, ref)

    async def _first(
        self, scope: Scope, receive: Receive, send: Send, body: bytes, caller: Caller, ref: str
    ) -> None:
        replays = scope["app"].state.host.openai.replays
        sent = False

        async def replayed_receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # a stream listens for the client leaving

        status = 0
        media_type = "application/json"
        answer: list[bytes] = []
        finished = False

        async def keeping_send(message: Message) -> None:
            nonlocal status, media_type, finished
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        media_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                answer.append(message.get("body", b""))
                finished = not message.get("more_body", False)
            await send(message)

        try:
            await self.app(scope, replayed_receive, keeping_send)
        finally:
            if finished:
                await replays.keep(caller.user, ref, status, media_type, b"".join(answer))
            else:
                await replays.release(caller.user, ref)
