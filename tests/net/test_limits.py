"""Limits: the size cap, the whole-exchange time budget, retries with backoff and Retry-After."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from email.utils import formatdate

import pytest

from powerstrip.errors import FetchTimeoutError, HTTPStatusError, ResponseTooLargeError
from powerstrip.net import GuardedClient, NetPolicy, RetryPolicy
from powerstrip.net.retry import parse_retry_after
from powerstrip.testing import LoopbackServer

PolicyFor = Callable[..., NetPolicy]
pytestmark = [pytest.mark.anyio, pytest.mark.network]
FAST = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.02)


async def test_content_length_over_the_cap_is_refused_early(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    async with GuardedClient(policy_for(https_server)) as client:
        with pytest.raises(ResponseTooLargeError, match="Content-Length says 5000"):
            await client.fetch("https://plugin.example.com/bytes?n=5000", max_bytes=4096)
        small = await client.fetch("https://plugin.example.com/bytes?n=4096", max_bytes=4096)
    assert len(small.content) == 4096


async def test_chunked_body_is_cut_once_it_passes_the_cap(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    policy = policy_for(https_server, max_response_bytes=10_000)
    async with GuardedClient(policy) as client:
        with pytest.raises(ResponseTooLargeError, match="while streaming") as caught:
            await client.request("GET", "https://plugin.example.com/chunked?n=50000")
        ok = await client.request("GET", "https://plugin.example.com/chunked?n=10000")
    assert caught.value.where == "https://plugin.example.com/chunked"
    assert ok.content == b"y" * 10_000


async def test_slow_server_hits_the_timeout(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    async with GuardedClient(policy_for(https_server, fetch_timeout=0.5)) as client:
        started = time.monotonic()
        with pytest.raises(FetchTimeoutError, match=r"within 0\.5 s") as caught:
            await client.fetch("https://plugin.example.com/slow?delay=5")
    assert time.monotonic() - started < 2
    assert caught.value.fix


async def test_timeout_covers_the_whole_exchange_not_each_read(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    # Every chunk arrives within 0.1 s, so per-read timeouts never fire; the budget must.
    async with GuardedClient(policy_for(https_server)) as client:
        started = time.monotonic()
        with pytest.raises(FetchTimeoutError):
            await client.request("GET", "https://plugin.example.com/trickle", timeout=0.5)
    assert time.monotonic() - started < 1.5


async def test_503_is_retried_then_succeeds(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    url = f"https://plugin.example.com/flaky?fail=2&key={uuid.uuid4()}"
    async with GuardedClient(policy_for(https_server)) as client:
        response = await client.request("POST", url, json={"x": 1}, retry=FAST)
    assert response.status_code == 200
    assert response.attempts == 3
    assert response.content == b'{"attempt":3}'


async def test_without_retry_policy_the_503_is_returned(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    url = f"https://plugin.example.com/flaky?fail=1&key={uuid.uuid4()}"
    async with GuardedClient(policy_for(https_server)) as client:
        response = await client.request("GET", url)
    assert (response.status_code, response.attempts) == (503, 1)
    with pytest.raises(HTTPStatusError, match="503 Service Unavailable: 'busy'"):
        response.raise_for_status()


async def test_retries_stop_at_max_attempts(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    url = f"https://plugin.example.com/flaky?fail=10&key={uuid.uuid4()}"
    async with GuardedClient(policy_for(https_server)) as client:
        response = await client.request("GET", url, retry=FAST)
    assert (response.status_code, response.attempts) == (503, 3)


async def test_429_retry_after_is_honoured(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    url = f"https://plugin.example.com/flaky?fail=1&status=429&retry_after=1&key={uuid.uuid4()}"
    async with GuardedClient(policy_for(https_server)) as client:
        started = time.monotonic()
        response = await client.request("GET", url, retry=FAST)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.95


async def test_retry_after_past_the_deadline_stops_with_a_clear_error(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    url = f"https://plugin.example.com/flaky?fail=1&retry_after=30&key={uuid.uuid4()}"
    async with GuardedClient(policy_for(https_server)) as client:
        started = time.monotonic()
        with pytest.raises(FetchTimeoutError, match="Retry-After 30 s") as caught:
            await client.request("GET", url, timeout=2, retry=FAST)
    assert time.monotonic() - started < 1
    assert "call_timeout" in (caught.value.fix or "")


def test_retry_after_parses_seconds_and_http_dates() -> None:
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    now = time.time()
    in_ten = formatdate(now + 10, usegmt=True)
    assert parse_retry_after({"retry-after": in_ten}, now=now) == pytest.approx(10, abs=1)
    assert parse_retry_after({"retry-after": formatdate(now - 60, usegmt=True)}, now=now) == 0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_backoff_grows_exponentially_with_jitter_and_a_ceiling() -> None:
    retry = RetryPolicy(backoff_base=0.5, backoff_max=2.0)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (10, 2.0)]:
        delays = [retry.backoff(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
