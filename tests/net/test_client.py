"""The client's behaviour on the wire: pinned address with original Host and SNI, bodies, errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import httpx
import pytest

from powerstrip.errors import ConnectError, HTTPStatusError, TLSPolicyError
from powerstrip.net import FetchedResponse, GuardedClient, NetPolicy
from powerstrip.testing import LoopbackServer

PolicyFor = Callable[..., NetPolicy]
pytestmark = [pytest.mark.anyio, pytest.mark.network]


async def test_server_sees_the_original_host_and_sni(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    async with GuardedClient(policy_for(https_server)) as client:
        response = await client.fetch("https://plugin.example.com/echo")
    seen = json.loads(response.content)
    assert seen["host"] == "plugin.example.com"
    assert seen["sni"] == "plugin.example.com"


async def test_request_sends_method_params_headers_and_json(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    async with GuardedClient(policy_for(https_server)) as client:
        response = await client.request(
            "post",
            "https://api.example.com/echo",
            params={"q": "a b", "n": 2},
            headers={"Authorization": "Bearer k"},
            json={"city": "Paris"},
        )
    seen = json.loads(response.content)
    assert seen["method"] == "POST"
    assert seen["query"] == "q=a+b&n=2"
    assert seen["authorization"] == "Bearer k"
    assert json.loads(seen["body"]) == {"city": "Paris"}
    assert response.attempts == 1
    assert response.url.startswith("https://api.example.com/echo?")


async def test_the_log_names_a_url_without_its_query_or_fragment(
    https_server: LoopbackServer, policy_for: PolicyFor, caplog: pytest.LogCaptureFixture
) -> None:
    # Query strings carry API keys; an encoded `?` in the path is still the path.
    caplog.set_level(logging.INFO, logger="powerstrip.net.client")
    async with GuardedClient(policy_for(https_server)) as client:
        await client.request(
            "GET", "https://api.example.com/echo/a%3Fb?key=s3cret#part", params={"more": "k3y"}
        )
        await client.fetch("https://plugin.example.com/echo?key=s3cret#part")
    logged = [r.getMessage() for r in caplog.records if r.name == "powerstrip.net.client"]
    assert any("url=https://api.example.com/echo/a%3Fb status=" in line for line in logged)
    assert any("url=https://plugin.example.com/echo status=" in line for line in logged)
    assert not any("s3cret" in line or "k3y" in line or "part" in line for line in logged)


async def test_no_cookie_a_server_set_rides_on_a_later_request(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    # One client makes every user's calls: a cookie kept from alice's call would go out on bob's.
    async with GuardedClient(policy_for(https_server)) as client:
        await client.request("GET", "https://plugin.example.com/set-cookie?who=alice")
        called = await client.request("GET", "https://plugin.example.com/echo")
        await client.fetch("https://plugin.example.com/set-cookie?who=alice")
        fetched = await client.fetch("https://plugin.example.com/echo")
    assert json.loads(called.content)["cookie"] is None
    assert json.loads(fetched.content)["cookie"] is None


async def test_garbage_body_is_returned_as_bytes(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    async with GuardedClient(policy_for(https_server)) as client:
        response = await client.request("GET", "https://plugin.example.com/garbage")
    assert response.content == b"\x00\xff{not json\xfe"
    assert response.content_type == "application/json"
    assert "\ufffd" in response.text


async def test_error_status_is_returned_and_raise_for_status_quotes_the_body(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    body = "no such thing " * 30
    async with GuardedClient(policy_for(https_server)) as client:
        response = (
            await client.fetch("https://plugin.example.com/status", headers={}, timeout=5)
            if False
            else await client.request(
                "GET", "https://plugin.example.com/status", params={"code": 404, "body": body}
            )
        )
    assert response.status_code == 404
    with pytest.raises(HTTPStatusError) as caught:
        response.raise_for_status()
    assert caught.value.status_code == 404
    assert caught.value.body_start == body[:200]
    assert "404 Not Found" in caught.value.message


async def test_refused_connection_is_a_connect_error(http_server: LoopbackServer) -> None:
    # Bind-and-close gives a loopback port with nothing listening.
    closed = LoopbackServer(http_server.app)
    port = closed.port
    closed.stop()
    async with GuardedClient(NetPolicy(dev_mode=True)) as client:
        with pytest.raises(ConnectError) as caught:
            await client.fetch(f"http://127.0.0.1:{port}/")
    assert caught.value.fix


async def test_invalid_url_is_a_powerstrip_error() -> None:
    async with GuardedClient(NetPolicy()) as client:
        with pytest.raises(TLSPolicyError, match="invalid URL"):
            await client.fetch("https://[::1/")


def test_text_uses_the_declared_charset() -> None:
    response = FetchedResponse(
        url="https://plugin.example.com/",
        status_code=200,
        headers=httpx.Headers({"content-type": "text/plain; charset=latin-1"}),
        content="café".encode("latin-1"),
        elapsed=0.0,
    )
    assert response.text == "café"
    assert response.charset == "iso8859-1"
    assert response.raise_for_status() is response
