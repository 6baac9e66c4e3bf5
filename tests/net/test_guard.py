"""The address guard through the client: every literal form and mapped name is refused first.

The autouse `no_outbound_network` fixture fails a test if a connection to a non-loopback address
is even attempted, so these prove the refusal comes before the network is touched.
"""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Callable

import pytest

from powerstrip.errors import AddressBlockedError
from powerstrip.net import AllowList, GuardedClient, NetPolicy, ResolveRule
from powerstrip.testing import LoopbackServer

PolicyFor = Callable[..., NetPolicy]
pytestmark = [pytest.mark.anyio, pytest.mark.network]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://2130706433/",
        "https://0177.0.0.1/",
        "https://0x7f.0.0.1/",
        "https://127.1/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:7f00:1]/",
        "https://0.0.0.0/",
        "https://[::]/",
        "https://10.0.0.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://192.168.1.1/",
        "https://[fd00::1]/",
        "https://[64:ff9b::a9fe:a9fe]/",
    ],
)
async def test_literal_private_destinations_are_refused(url: str) -> None:
    async with GuardedClient(NetPolicy()) as client:
        with pytest.raises(AddressBlockedError) as caught:
            await client.fetch(url)
        with pytest.raises(AddressBlockedError):
            await client.request("GET", url)
    assert caught.value.fix
    assert caught.value.where


async def test_name_mapped_to_loopback_is_refused_without_allowlist(
    https_server: LoopbackServer,
) -> None:
    rule = ResolveRule.parse(f"plugin.example.com:443=127.0.0.1:{https_server.port}")
    async with GuardedClient(NetPolicy(resolve=(rule,))) as client:
        with pytest.raises(
            AddressBlockedError, match=r"plugin\.example\.com resolves to 127\.0\.0\.1"
        ):
            await client.fetch("https://plugin.example.com/echo")


async def test_name_mapped_to_a_private_address_is_refused(https_server: LoopbackServer) -> None:
    rule = ResolveRule.parse("plugin.example.com=10.1.2.3")
    async with GuardedClient(NetPolicy(resolve=(rule,))) as client:
        with pytest.raises(AddressBlockedError, match=r"10\.1\.2\.3"):
            await client.fetch("https://plugin.example.com/")


async def test_allowlisted_cidr_opens_the_mapped_address(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    by_name = policy_for(https_server, "plugin.example.com")
    by_network = NetPolicy(
        ca_bundle=by_name.ca_bundle,
        resolve=by_name.resolve,
        allow=AllowList.parse(["127.0.0.0/8=plugin.example.com"]),
    )
    async with GuardedClient(by_network) as client:
        response = await client.fetch("https://plugin.example.com/echo")
    assert response.status_code == 200


async def test_redirect_to_a_private_address_is_refused_even_when_policy_allows(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    target = urllib.parse.quote("https://169.254.169.254/latest/meta-data/", safe="")
    async with GuardedClient(policy_for(https_server)) as client:
        with pytest.raises(AddressBlockedError, match=r"169\.254\.169\.254"):
            await client.fetch(
                f"https://plugin.example.com/redirect?to={target}",
                redirect_policy=lambda _from, _to: True,
            )


async def test_redirect_to_a_decimal_loopback_is_refused(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    target = urllib.parse.quote("https://2130706433/", safe="")
    async with GuardedClient(policy_for(https_server)) as client:
        with pytest.raises(AddressBlockedError):
            await client.fetch(
                f"https://plugin.example.com/redirect?to={target}",
                redirect_policy=lambda _from, _to: True,
            )


def test_the_network_tripwire_is_armed() -> None:
    # The fixture these tests rely on really stops a non-loopback connect before it happens.
    with (
        socket.socket() as sock,
        pytest.raises(pytest.fail.Exception, match="must refuse first"),
    ):
        sock.connect(("10.0.0.1", 443))
