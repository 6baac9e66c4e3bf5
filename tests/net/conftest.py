"""Servers for the net tests: one behaviour app behind trusted, untrusted, TLS 1.1 and plain HTTP.

An autouse guard fails any test that tries to connect to a non-loopback address, so the
address-guard tests prove the refusal happens before the network is touched.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from powerstrip.net import NetPolicy
from powerstrip.testing import LoopbackServer, TestCA, loopback_policy

NAMES = ("plugin.example.com", "www.example.com", "api.example.com", "example.com")
PolicyFor = Callable[..., NetPolicy]


def behaviour_app(sni_seen: list[str]) -> Starlette:
    """Endpoints that misbehave on request: redirects, slowness, size, flakiness, garbage."""
    failures: dict[str, int] = {}

    async def echo(request: Request) -> Response:
        body = await request.body()
        return JSONResponse(
            {
                "host": request.headers.get("host"),
                "method": request.method,
                "query": str(request.query_params),
                "body": body.decode("utf-8", "replace"),
                "authorization": request.headers.get("authorization"),
                "cookie": request.headers.get("cookie"),
                "sni": sni_seen[-1] if sni_seen else None,
            }
        )

    async def set_cookie(request: Request) -> Response:
        # A session cookie, as many APIs (and their load balancers) set on an authenticated call.
        answer = Response(b"signed in", media_type="text/plain")
        answer.set_cookie("session", request.query_params.get("who", "someone"), path="/")
        return answer

    async def redirect(request: Request) -> Response:
        status = int(request.query_params.get("status", "302"))
        return RedirectResponse(request.query_params["to"], status_code=status)

    async def loop(request: Request) -> Response:
        return RedirectResponse("/loop", status_code=302)

    async def sized(request: Request) -> Response:
        return Response(b"x" * int(request.query_params["n"]), media_type="text/plain")

    async def chunked(request: Request) -> Response:
        total, size = int(request.query_params["n"]), 1024

        async def parts() -> AsyncIterator[bytes]:
            for start in range(0, total, size):
                yield b"y" * min(size, total - start)

        return StreamingResponse(parts(), media_type="text/plain")

    async def slow(request: Request) -> Response:
        await anyio.sleep(float(request.query_params["delay"]))
        return Response(b"late", media_type="text/plain")

    async def trickle(request: Request) -> Response:
        # Each chunk comes quickly, the whole body slowly: only a whole-exchange budget stops it.
        async def parts() -> AsyncIterator[bytes]:
            for _ in range(int(request.query_params.get("chunks", "20"))):
                await anyio.sleep(0.1)
                yield b"."

        return StreamingResponse(parts(), media_type="text/plain")

    async def flaky(request: Request) -> Response:
        key = request.query_params["key"]
        failures[key] = failures.get(key, 0) + 1
        if failures[key] <= int(request.query_params.get("fail", "1")):
            headers = {}
            if "retry_after" in request.query_params:
                headers["Retry-After"] = request.query_params["retry_after"]
            status = int(request.query_params.get("status", "503"))
            return Response(b"busy", status_code=status, headers=headers)
        return JSONResponse({"attempt": failures[key]})

    async def garbage(request: Request) -> Response:
        return Response(b"\x00\xff{not json\xfe", media_type="application/json")

    async def status(request: Request) -> Response:
        code = int(request.query_params["code"])
        return Response(request.query_params.get("body", "").encode(), status_code=code)

    return Starlette(
        routes=[
            Route("/echo", echo, methods=["GET", "POST", "PUT"]),
            Route("/set-cookie", set_cookie),
            Route("/redirect", redirect),
            Route("/loop", loop),
            Route("/bytes", sized),
            Route("/chunked", chunked),
            Route("/slow", slow),
            Route("/trickle", trickle),
            Route("/flaky", flaky, methods=["GET", "POST"]),
            Route("/garbage", garbage),
            Route("/status", status),
        ]
    )


def _recording_context(test_ca: TestCA, sni_seen: list[str], **kwargs: Any) -> ssl.SSLContext:
    context = test_ca.server_context(*NAMES, "localhost", "127.0.0.1", "::1", **kwargs)

    def record(_conn: object, server_name: str | None, _context: ssl.SSLContext) -> None:
        sni_seen.append(server_name or "")

    context.sni_callback = record
    return context


@pytest.fixture(scope="session")
def sni_seen() -> list[str]:
    """Server names the trusted HTTPS server saw in TLS client hellos, in order."""
    return []


@pytest.fixture(scope="session")
def https_server(test_ca: TestCA, sni_seen: list[str]) -> Iterator[LoopbackServer]:
    """The behaviour app over TLS with a certificate from the trusted test CA."""
    app = behaviour_app(sni_seen)
    with LoopbackServer(app, ssl_context=_recording_context(test_ca, sni_seen)) as server:
        yield server


@pytest.fixture(scope="session")
def http_server() -> Iterator[LoopbackServer]:
    """The behaviour app over plain HTTP (for development-mode tests)."""
    with LoopbackServer(behaviour_app([])) as server:
        yield server


@pytest.fixture(scope="session")
def untrusted_server() -> Iterator[LoopbackServer]:
    """The behaviour app with a certificate from a CA the client does not trust."""
    other = TestCA(organization="Someone else's CA")
    context = other.server_context(*NAMES, "localhost", "127.0.0.1")
    with LoopbackServer(behaviour_app([]), ssl_context=context) as server:
        yield server


@pytest.fixture(scope="session")
def tls11_server(test_ca: TestCA) -> Iterator[LoopbackServer]:
    """The behaviour app on a server that speaks only TLS 1.1 (trusted certificate)."""
    context = test_ca.server_context(
        *NAMES,
        minimum_version=ssl.TLSVersion.TLSv1_1,
        maximum_version=ssl.TLSVersion.TLSv1_1,
        ciphers="DEFAULT:@SECLEVEL=0",
    )
    with LoopbackServer(behaviour_app([]), ssl_context=context) as server:
        yield server


@pytest.fixture
def policy_for(ca_bundle: Path) -> PolicyFor:
    """`policy_for(server, *names, **fields)`: a policy mapping `https://NAME/` to `server`."""

    def build(server: LoopbackServer, *names: str, **fields: Any) -> NetPolicy:
        return loopback_policy(server, names or NAMES, ca_bundle=ca_bundle, **fields)

    return build


@pytest.fixture(autouse=True)
def no_outbound_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if anything connects to a non-loopback address during a net test."""
    original = socket.socket.connect
    original_ex = socket.socket.connect_ex

    def check(address: Any) -> None:
        if isinstance(address, tuple):
            host = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
            if not host.is_loopback:
                pytest.fail(f"a test tried to connect to {address[0]}: the guard must refuse first")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        original(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return original_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
