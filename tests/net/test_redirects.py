"""Redirects: followed only when the caller's policy allows each hop, never on API calls.

The manifest rule of spec §3 is tested hop by hop through the real client; chains stop at
`max_redirects`; an API call answered with any redirect status is sent once and not followed,
whatever its method and retry policy; development mode never follows a redirect to another
local port (a listener that records accepts proves no connection was made).
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from powerstrip.errors import (
    AddressBlockedError,
    ProtocolError,
    RedirectRefusedError,
    TLSPolicyError,
)
from powerstrip.net import GuardedClient, NetPolicy, ResolveRule, RetryPolicy
from powerstrip.plugin.domain_policy import manifest_redirect_allowed
from powerstrip.testing import LoopbackServer, loopback_policy
from tests.conftest import ServeApp
from tests.net.accept_recorder import AcceptRecorder

PolicyFor = Callable[..., NetPolicy]
pytestmark = [pytest.mark.anyio, pytest.mark.network]


def redirect_to(url: str, status: int = 302) -> str:
    return f"/redirect?status={status}&to={urllib.parse.quote(url, safe='')}"


def to_subdomain(source: httpx.URL, target: httpx.URL) -> bool:
    return target.host.endswith("." + source.host.removeprefix("www."))


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_allowed_redirect_is_followed_and_recorded(
    https_server: LoopbackServer, policy_for: PolicyFor, status: int
) -> None:
    start = "https://example.com" + redirect_to("https://api.example.com/echo", status)
    async with GuardedClient(policy_for(https_server)) as client:
        response = await client.fetch(start, redirect_policy=to_subdomain)
    assert response.status_code == 200
    assert response.url == "https://api.example.com/echo"
    assert response.redirects == (start,)
    assert '"host":"api.example.com"' in response.text


async def test_refused_redirect_names_both_hosts(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    start = "https://api.example.com" + redirect_to("https://www.example.com/echo")
    async with GuardedClient(policy_for(https_server)) as client:
        with pytest.raises(RedirectRefusedError) as caught:
            await client.fetch(start, redirect_policy=to_subdomain)
    assert "api.example.com" in caught.value.message
    assert "www.example.com" in caught.value.message
    assert caught.value.fix


async def test_without_a_policy_no_redirect_is_followed(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    async with GuardedClient(policy_for(https_server)) as client:
        with pytest.raises(RedirectRefusedError):
            await client.fetch("https://plugin.example.com" + redirect_to("/echo"))


async def test_request_never_follows_a_redirect(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    async with GuardedClient(policy_for(https_server)) as client:
        response = await client.request(
            "GET", "https://plugin.example.com" + redirect_to("/echo", 307)
        )
    assert response.status_code == 307
    assert response.headers["location"] == "/echo"
    assert response.redirects == ()


async def test_redirect_loop_is_capped(https_server: LoopbackServer, policy_for: PolicyFor) -> None:
    async with GuardedClient(policy_for(https_server, max_redirects=3)) as client:
        with pytest.raises(RedirectRefusedError, match="more than 3 redirects"):
            await client.fetch(
                "https://plugin.example.com/loop", redirect_policy=lambda _from, _to: True
            )


async def test_credentials_are_dropped_when_a_redirect_changes_host(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    start = "https://example.com" + redirect_to("https://api.example.com/echo")
    async with GuardedClient(policy_for(https_server)) as client:
        response = await client.fetch(
            start, redirect_policy=to_subdomain, headers={"Authorization": "Bearer secret"}
        )
    assert '"authorization":null' in response.text


async def test_redirect_to_plain_http_is_refused_by_the_tls_rule(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    start = "https://example.com" + redirect_to("http://api.example.com/echo")
    async with GuardedClient(policy_for(https_server)) as client:
        with pytest.raises(TLSPolicyError, match="plain http"):
            await client.fetch(start, redirect_policy=lambda _from, _to: True)


# -- chains, the rulebook's origins, and requests that must never be sent twice -----------------


def chain(hops: int, end: str = "/echo") -> str:
    """A path that redirects `hops` times on the same host before reaching `end`."""
    url = end
    for _ in range(hops):
        url = redirect_to(url)
    return url


async def test_a_chain_of_max_redirects_is_followed_and_one_more_is_refused(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    follow_all = lambda _from, _to: True  # noqa: E731 - the policy is not the subject here
    async with GuardedClient(policy_for(https_server, max_redirects=4)) as client:
        response = await client.fetch(
            "https://plugin.example.com" + chain(4), redirect_policy=follow_all
        )
        assert response.status_code == 200
        assert len(response.redirects) == 4
        with pytest.raises(RedirectRefusedError, match="more than 4 redirects"):
            await client.fetch("https://plugin.example.com" + chain(5), redirect_policy=follow_all)


def manifest_rule(source: httpx.URL, target: httpx.URL) -> bool:
    return manifest_redirect_allowed(str(source), str(target))


@pytest.mark.parametrize(
    ("start", "to", "outcome"),
    [
        # Spec §3: a child subdomain, www -> apex, and the same host are followed.
        ("https://example.com", "https://api.example.com/echo", 200),
        ("https://example.com", "https://www.example.com/echo", 200),
        ("https://www.example.com", "https://example.com/echo", 200),
        ("https://plugin.example.com", "/echo", 200),
        # A parent, a sibling, another site, a downgrade: refused naming both hosts.
        ("https://api.example.com", "https://example.com/echo", RedirectRefusedError),
        ("https://api.example.com", "https://www.example.com/echo", RedirectRefusedError),
        ("https://plugin.example.com", "https://evil.test/echo", RedirectRefusedError),
        ("https://plugin.example.com", "https://127.0.0.1/echo", RedirectRefusedError),
        ("https://example.com", "http://example.com/echo", RedirectRefusedError),
        ("https://example.com", "http://api.example.com/echo", RedirectRefusedError),
        # Allowed by the rule, refused by the transport's: port 443 only.
        ("https://example.com", "https://api.example.com:8443/echo", TLSPolicyError),
        # A Location whose host is not valid punycode: httpx fails reading it.
        ("https://example.com", "https://xn--localhost/", ProtocolError),
    ],
)
async def test_manifest_redirects_follow_the_rulebook_exactly(
    https_server: LoopbackServer,
    policy_for: PolicyFor,
    start: str,
    to: str,
    outcome: int | type[Exception],
) -> None:
    url = start + redirect_to(to, 301)
    async with GuardedClient(policy_for(https_server)) as client:
        if isinstance(outcome, int):
            response = await client.fetch(url, redirect_policy=manifest_rule)
            assert response.status_code == outcome
            assert response.redirects == (url,)
            return
        with pytest.raises(outcome) as caught:
            await client.fetch(url, redirect_policy=manifest_rule)
    assert caught.value.fix  # type: ignore[attr-defined]


async def test_a_redirect_the_rulebook_allows_to_a_private_name_is_refused_by_the_guard(
    https_server: LoopbackServer, ca_bundle: Path
) -> None:
    # internal.example.com is a child of example.com, so the rule follows it; it resolves
    # to a private address, so the guard does not.
    policy = loopback_policy(https_server, ["example.com"], ca_bundle=ca_bundle)
    policy = replace(
        policy, resolve=(*policy.resolve, ResolveRule.parse("internal.example.com=10.0.0.5"))
    )
    async with GuardedClient(policy) as client:
        with pytest.raises(AddressBlockedError, match=r"internal\.example\.com resolves to 10"):
            await client.fetch(
                "https://example.com" + redirect_to("https://internal.example.com/"),
                redirect_policy=manifest_rule,
            )


async def test_credentials_stay_on_a_same_origin_redirect_only(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    headers = {"Authorization": "Bearer same-origin-only", "Cookie": "a=b"}
    async with GuardedClient(policy_for(https_server)) as client:
        same = await client.fetch(
            "https://example.com" + redirect_to("/echo"),
            redirect_policy=manifest_rule,
            headers=headers,
        )
        other = await client.fetch(
            "https://example.com" + redirect_to("https://api.example.com/echo"),
            redirect_policy=manifest_rule,
            headers=headers,
        )
    assert json.loads(same.content)["authorization"] == "Bearer same-origin-only"
    assert json.loads(other.content)["authorization"] is None
    assert json.loads(other.content)["cookie"] is None


class OrderDesk:
    """A plugin API that answers its order endpoint with a redirect, and counts every request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[tuple[str, str]] = []

    @property
    def seen(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._seen)

    def app(self) -> Starlette:
        async def order(request: Request) -> Response:
            with self._lock:
                self._seen.append((request.method, request.url.path))
            if request.url.path == "/orders":
                status = int(request.query_params["status"])
                return RedirectResponse("/orders/confirm", status_code=status)
            return JSONResponse({"confirmed": True})

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return Starlette(
            routes=[
                Route("/orders", order, methods=methods),
                Route("/orders/confirm", order, methods=methods),
            ]
        )


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_an_api_call_answered_with_a_redirect_is_sent_once_and_not_followed(
    serve_app: ServeApp, ca_bundle: Path, method: str, status: int
) -> None:
    desk = OrderDesk()
    server = serve_app(desk.app())
    policy = loopback_policy(server, ["api.example.com"], ca_bundle=ca_bundle)
    # A retry policy that would repeat even this method: a redirect is an answer, not a failure.
    retry = RetryPolicy(max_attempts=3, backoff_base=0.01, repeatable_methods=frozenset({method}))
    async with GuardedClient(policy) as client:
        response = await client.request(
            method,
            "https://api.example.com/orders",
            params={"status": status},
            json={"item": "one"},
            retry=retry,
        )
    assert response.status_code == status
    assert response.headers["location"] == "/orders/confirm"
    assert response.attempts == 1
    assert desk.seen == [(method, "/orders")]


async def test_development_mode_follows_no_redirect_to_another_local_port(
    http_server: LoopbackServer,
) -> None:
    own = f"http://localhost:{http_server.port}"
    with AcceptRecorder() as listener:
        async with GuardedClient(NetPolicy(dev_mode=True)) as client:
            for target in (
                f"http://localhost:{listener.port}/",
                f"http://127.0.0.1:{listener.port}/",
                f"http://[::1]:{listener.port}/",
            ):
                with pytest.raises(AddressBlockedError, match="own localhost origin"):
                    await client.fetch(
                        own + redirect_to(target), redirect_policy=lambda _from, _to: True
                    )
        assert listener.accepted == []


async def test_an_https_plugin_cannot_redirect_to_a_local_http_service_in_dev_mode(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    with AcceptRecorder() as listener:
        policy = replace(policy_for(https_server), dev_mode=True)
        async with GuardedClient(policy) as client:
            with pytest.raises(AddressBlockedError, match="own localhost origin"):
                await client.fetch(
                    "https://plugin.example.com"
                    + redirect_to(f"http://localhost:{listener.port}/"),
                    redirect_policy=lambda _from, _to: True,
                )
        assert listener.accepted == []


async def test_an_api_call_answered_with_an_invalid_location_is_a_clear_error(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    # Before: the idna error of httpx reading the Location escaped the client uncaught.
    async with GuardedClient(policy_for(https_server)) as client:
        with pytest.raises(ProtocolError, match="Location that is not a valid URL") as caught:
            await client.request(
                "GET", "https://plugin.example.com" + redirect_to("https://xn--localhost/", 307)
            )
    assert caught.value.attempts == 1
