"""Retries never repeat what may have happened: errors by kind, and the real attempt count."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from powerstrip.errors import BrokenConnectionError, ConnectError
from powerstrip.net import GuardedClient, NetPolicy, RetryPolicy
from powerstrip.testing import LoopbackServer
from tests.net.dropping_server import DroppingServer

pytestmark = [pytest.mark.anyio, pytest.mark.network]

FAST = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.02)


@pytest.fixture
def dropping() -> Iterator[DroppingServer]:
    server = DroppingServer()
    yield server
    server.close()


async def test_a_post_that_reached_the_server_is_sent_once(dropping: DroppingServer) -> None:
    url = f"http://127.0.0.1:{dropping.port}/orders"
    async with GuardedClient(NetPolicy(dev_mode=True)) as client:
        with pytest.raises(BrokenConnectionError) as caught:
            await client.request("POST", url, json={"item": "one"}, retry=FAST)
    assert dropping.requests == [b"POST /orders HTTP/1.1"]
    assert caught.value.attempts == 1
    assert "after the request was sent" in caught.value.message


async def test_a_get_that_broke_after_sending_is_retried(dropping: DroppingServer) -> None:
    url = f"http://127.0.0.1:{dropping.port}/orders"
    async with GuardedClient(NetPolicy(dev_mode=True)) as client:
        with pytest.raises(BrokenConnectionError) as caught:
            await client.request("GET", url, retry=FAST)
    assert len(dropping.requests) == 3
    assert caught.value.attempts == 3


async def test_a_post_that_could_not_connect_is_retried(http_server: LoopbackServer) -> None:
    # Nothing listens on the port: nothing can have reached anyone, so retrying is safe.
    closed = LoopbackServer(http_server.app)
    port = closed.port
    closed.stop()
    async with GuardedClient(NetPolicy(dev_mode=True)) as client:
        with pytest.raises(ConnectError) as caught:
            await client.request("POST", f"http://127.0.0.1:{port}/", json={}, retry=FAST)
    assert caught.value.attempts == 3


@pytest.mark.parametrize("dev_mode", [True, False])
async def test_a_mistyped_local_host_is_named_as_unknown_not_as_plain_http(
    dev_mode: bool,
) -> None:
    async with GuardedClient(NetPolicy(dev_mode=dev_mode)) as client:
        with pytest.raises(ConnectError) as caught:
            await client.fetch("http://locahost:5005/.well-known/ai-plugin.json")
    assert "'locahost' is neither a name that resolves nor a local host" in caught.value.message
    assert "plain http" not in str(caught.value)
