"""The server reads no request body bigger than its cap, and none before it knows the caller.

Against a real uvicorn server over raw sockets, so "not read" means what the client sees: the
answer arrives while most of the body is still unsent.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.server.local_host import LocalHost, local_host

pytestmark = pytest.mark.anyio

CAP = 64_000


async def _open(host: LocalHost) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", host.server.port)


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The status and body of the answer (read until the server closes or the body ends)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return status, await asyncio.wait_for(reader.readexactly(length), 5)


def _head(method: str, path: str, *lines: str) -> bytes:
    return "\r\n".join((f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *lines, "", "")).encode()


async def test_a_declared_oversize_body_is_refused_before_it_is_sent(tmp_path: Path) -> None:
    async with local_host(tmp_path, max_request_bytes=CAP) as host:
        token = await host.token("ada")
        reader, writer = await _open(host)
        writer.write(
            _head(
                "POST",
                "/api/plugins",
                f"Authorization: Bearer {token}",
                "Content-Type: application/json",
                "Content-Length: 200000000",
            )
            + b'{"url": "'
        )
        await writer.drain()
        status, body = await _answer(reader)
        writer.close()
        assert status == 413
        error = json.loads(body)["error"]
        assert error["type"] == "RequestTooLarge"
        assert str(CAP) in error["message"]
        assert "POWERSTRIP_MAX_REQUEST_BYTES" in error["fix"]


async def test_a_chunked_body_is_cut_off_at_the_cap(tmp_path: Path) -> None:
    async with local_host(tmp_path, max_request_bytes=CAP) as host:
        token = await host.token("ada")
        reader, writer = await _open(host)
        writer.write(
            _head(
                "POST",
                "/api/conversations",
                f"Authorization: Bearer {token}",
                "Content-Type: application/json",
                "Transfer-Encoding: chunked",
            )
        )
        chunk = b"x" * 16_000
        answer = asyncio.ensure_future(_answer(reader))
        willing, sent = 64_000_000, 0
        # The kernel's socket buffers take a few MB whatever the server does; the server must
        # answer (and stop reading) long before the whole body is sent.
        while sent < willing and not answer.done():
            try:
                writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                await writer.drain()
            except ConnectionError:
                break  # the server closed the connection after answering
            sent += len(chunk)
            await asyncio.sleep(0)
        if not answer.done():
            writer.write(b"0\r\n\r\n")
        status, body = await answer
        writer.close()
        assert status == 413, body
        assert json.loads(body)["error"]["type"] == "RequestTooLarge"
        assert sent < willing / 4, f"{sent} bytes were sent before the server refused"


@pytest.mark.parametrize("authorization", [None, "Bearer pst_not-a-token", "Basic YTpi"])
async def test_a_caller_without_a_valid_token_is_refused_before_the_body_is_read(
    tmp_path: Path, authorization: str | None
) -> None:
    async with local_host(tmp_path) as host:
        reader, writer = await _open(host)
        lines = ["Content-Type: application/json", "Content-Length: 50000"]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        writer.write(_head("POST", "/api/plugins", *lines))  # and not one byte of the body
        await writer.drain()
        status, body = await _answer(reader)
        writer.close()
        assert status == 401
        assert json.loads(body)["error"]["type"] == "SignInRequiredError"


async def test_a_body_within_the_cap_is_served(tmp_path: Path) -> None:
    async with local_host(tmp_path, max_request_bytes=CAP) as host, await host.user("ada") as api:
        answer = await api.post("/api/conversations", json={"title": "t" * 300})
        assert answer.status_code == 201, answer.text
        too_long = await api.post("/api/conversations", content=b" " * (CAP + 1))
        assert too_long.status_code == 413
