"""Redirects: followed only when the caller's policy allows each hop, never on API calls."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

import httpx
import pytest

from powerstrip.errors import RedirectRefusedError
from powerstrip.net import GuardedClient, NetPolicy
from powerstrip.testing import LoopbackServer

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
    from powerstrip.errors import TLSPolicyError

    start = "https://example.com" + redirect_to("http://api.example.com/echo")
    async with GuardedClient(policy_for(https_server)) as client:
        with pytest.raises(TLSPolicyError, match="plain http"):
            await client.fetch(start, redirect_policy=lambda _from, _to: True)
