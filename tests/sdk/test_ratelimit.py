"""Rate limits: a token bucket per caller, answering 429 with `Retry-After`."""

from __future__ import annotations

import httpx
import pytest

from powerstrip.sdk import RateLimit, ServiceAuth, UserAuth
from powerstrip.sdk.ratelimit import RateLimiter
from powerstrip.testing import LoopbackServer, TestCA
from tests.conftest import ServeApp
from tests.sdk.todo_plugin import bearer, build, client

pytestmark = pytest.mark.anyio

KEYS = {"alice-key": "alice", "bob-key": "bob"}


# -- the token bucket ------------------------------------------------------------------------


def test_a_fresh_bucket_allows_a_burst_of_the_limit_then_says_how_long_to_wait() -> None:
    limiter = RateLimiter(RateLimit(requests=3, per_seconds=60))
    assert [limiter.acquire("k", now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    # One token comes back every 60 / 3 = 20 s.
    assert limiter.acquire("k", now=100.0) == pytest.approx(20.0)


def test_the_bucket_refills_over_time() -> None:
    limiter = RateLimiter(RateLimit(requests=3, per_seconds=60))
    for _ in range(3):
        limiter.acquire("k", now=0.0)
    assert limiter.acquire("k", now=10.0) == pytest.approx(10.0)
    assert limiter.acquire("k", now=20.0) == 0.0
    assert limiter.acquire("k", now=20.0) > 0
    assert limiter.acquire("k", now=40.0) == 0.0


def test_a_long_pause_refills_only_up_to_the_limit() -> None:
    limiter = RateLimiter(RateLimit(requests=2, per_seconds=10))
    limiter.acquire("k", now=0.0)
    allowed = [limiter.acquire("k", now=10_000.0) == 0.0 for _ in range(3)]
    assert allowed == [True, True, False]


def test_refused_calls_do_not_push_the_refill_back() -> None:
    limiter = RateLimiter(RateLimit(requests=1, per_seconds=10))
    limiter.acquire("k", now=0.0)
    for now in (1.0, 2.0, 5.0, 9.0):
        assert limiter.acquire("k", now=now) == pytest.approx(10.0 - now)
    assert limiter.acquire("k", now=10.0) == 0.0


def test_each_key_has_its_own_bucket() -> None:
    limiter = RateLimiter(RateLimit(requests=1, per_seconds=60))
    assert limiter.acquire("alice", now=0.0) == 0.0
    assert limiter.acquire("alice", now=0.0) > 0
    assert limiter.acquire("bob", now=0.0) == 0.0


def test_many_distinct_keys_do_not_reset_a_busy_callers_bucket() -> None:
    limiter = RateLimiter(RateLimit(requests=1, per_seconds=60), max_keys=4)
    limiter.acquire("busy", now=10.0)
    for n in range(3):
        limiter.acquire(f"old-{n}", now=float(n))
    limiter.acquire("new", now=11.0)  # over max_keys: the stalest half is forgotten
    assert limiter.acquire("busy", now=11.0) > 0


@pytest.mark.parametrize(("wait", "header"), [(0.01, "1"), (1.0, "1"), (19.2, "20"), (20.0, "20")])
def test_retry_after_is_whole_seconds_rounded_up_and_at_least_one(wait: float, header: str) -> None:
    assert RateLimiter.retry_after(wait) == header


@pytest.mark.parametrize(("requests", "per_seconds"), [(0, 60.0), (-1, 60.0), (1, 0.0), (1, -5.0)])
def test_a_rate_limit_that_allows_nothing_is_refused(requests: int, per_seconds: float) -> None:
    with pytest.raises(ValueError, match="requests >= 1 and per_seconds > 0"):
        RateLimit(requests=requests, per_seconds=per_seconds)


# -- the plugin's answers --------------------------------------------------------------------


async def test_the_call_after_the_limit_answers_429_with_retry_after() -> None:
    plugin = build(auth=ServiceAuth(key="svc"), rate_limit=RateLimit(requests=3, per_seconds=60))
    async with client(plugin.app()) as http:
        # /whoami takes a CallContext: the limit must still count one call per request.
        answers = [await http.get("/whoami", headers=bearer("svc")) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert limited.headers["retry-after"].isdigit()
    assert 1 <= int(limited.headers["retry-after"]) <= 20
    assert limited.headers["content-type"] == "application/json"
    error = limited.json()["error"]
    assert error["code"] == "rate_limited"
    assert limited.headers["retry-after"] in error["message"]


async def test_different_credentials_have_separate_buckets() -> None:
    plugin = build(auth=UserAuth(validate=KEYS.get), rate_limit=RateLimit(requests=1))
    async with client(plugin.app()) as http:
        alice = [(await http.get("/todos", headers=bearer("alice-key"))).status_code for _ in "ab"]
        bob = (await http.get("/todos", headers=bearer("bob-key"))).status_code
    assert alice == [200, 429]
    assert bob == 200


async def test_guessing_keys_from_one_address_is_rate_limited() -> None:
    # A refused credential must not buy a fresh bucket, or the limit never slows key guessing.
    plugin = build(auth=UserAuth(validate=KEYS.get), rate_limit=RateLimit(requests=2))
    async with client(plugin.app()) as http:
        answers = [
            (await http.get("/todos", headers=bearer(f"guess-{n}"))).status_code for n in range(3)
        ]
    assert answers == [401, 401, 429]


async def test_without_auth_the_limit_is_per_address_whatever_header_is_sent() -> None:
    plugin = build(rate_limit=RateLimit(requests=2))
    async with client(plugin.app()) as http:
        answers = [
            (await http.get("/todos", headers=bearer(f"random-{n}"))).status_code for n in range(3)
        ]
    assert answers == [200, 200, 429]


async def test_plugin_files_are_not_rate_limited() -> None:
    plugin = build(rate_limit=RateLimit(requests=1))
    async with client(plugin.app()) as http:
        answers = [await http.get("/.well-known/ai-plugin.json") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]


@pytest.fixture(scope="module")
def limited_server(serve_app: ServeApp) -> LoopbackServer:
    return serve_app(build(rate_limit=RateLimit(requests=2, per_seconds=3600)).app())


@pytest.mark.network
async def test_over_https_the_limit_applies_per_address_without_credentials(
    limited_server: LoopbackServer, test_ca: TestCA
) -> None:
    url = f"https://localhost:{limited_server.port}/todos"
    async with httpx.AsyncClient(verify=test_ca.client_context(), timeout=10) as http:
        answers = [await http.get(url) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[-1].headers["retry-after"]) > 1
