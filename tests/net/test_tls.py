"""TLS and scheme rules against real servers: verified certificates, TLS >= 1.2, https on 443."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from powerstrip.errors import AddressBlockedError, TLSPolicyError
from powerstrip.net import AllowList, GuardedClient, NetPolicy, ResolveRule
from powerstrip.testing import LoopbackServer, TestCA

PolicyFor = Callable[..., NetPolicy]

pytestmark = [pytest.mark.anyio, pytest.mark.network]


async def test_fetch_over_tls_with_the_test_ca(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    async with GuardedClient(policy_for(https_server)) as client:
        response = await client.fetch("https://plugin.example.com/echo")
    assert response.status_code == 200
    assert response.url == "https://plugin.example.com/echo"
    assert response.content_type == "application/json"


async def test_certificate_from_an_untrusted_ca_is_refused(
    untrusted_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    async with GuardedClient(policy_for(untrusted_server)) as client:
        with pytest.raises(TLSPolicyError, match="certificate") as caught:
            await client.fetch("https://plugin.example.com/echo")
    assert caught.value.where == "plugin.example.com"
    assert "ca_bundle" in (caught.value.fix or "")


async def test_certifi_alone_does_not_trust_the_test_ca(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    policy = policy_for(https_server)
    without_ca = NetPolicy(resolve=policy.resolve, allow=policy.allow)
    async with GuardedClient(without_ca) as client:
        with pytest.raises(TLSPolicyError):
            await client.fetch("https://plugin.example.com/echo")


async def test_tls_11_server_is_refused(
    tls11_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    async with GuardedClient(policy_for(tls11_server)) as client:
        with pytest.raises(TLSPolicyError, match="TLS handshake"):
            await client.fetch("https://plugin.example.com/echo")


async def test_tls_11_server_does_handshake_with_a_permissive_client(
    tls11_server: LoopbackServer, test_ca: TestCA
) -> None:
    # Proves the refusal above is our policy's doing, not a broken server.
    context = test_ca.client_context(
        minimum_version=ssl.TLSVersion.TLSv1_1,
        maximum_version=ssl.TLSVersion.TLSv1_1,
        ciphers="DEFAULT:@SECLEVEL=0",
    )
    stream = await anyio.connect_tcp(
        "127.0.0.1", tls11_server.port, ssl_context=context, tls_hostname="plugin.example.com"
    )
    async with stream:
        version = stream.extra(anyio.streams.tls.TLSAttribute.tls_version)  # noqa: S610
        assert version == "TLSv1.1"


async def test_wrong_host_name_in_certificate_is_refused(
    https_server: LoopbackServer, ca_bundle: Path
) -> None:
    rule = ResolveRule.parse(f"other.example.net:443=127.0.0.1:{https_server.port}")
    policy = NetPolicy(
        ca_bundle=ca_bundle, resolve=(rule,), allow=AllowList.parse(["other.example.net"])
    )
    async with GuardedClient(policy) as client:
        with pytest.raises(TLSPolicyError, match="certificate"):
            await client.fetch("https://other.example.net/echo")


async def test_plain_http_is_refused_outside_dev_mode(
    http_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    async with GuardedClient(policy_for(http_server)) as client:
        with pytest.raises(TLSPolicyError, match="plain http") as caught:
            await client.fetch("http://plugin.example.com/echo")
    assert "443" in (caught.value.fix or "")


async def test_non_443_port_is_refused_outside_dev_mode(
    https_server: LoopbackServer, policy_for: PolicyFor
) -> None:
    async with GuardedClient(policy_for(https_server)) as client:
        with pytest.raises(TLSPolicyError, match="port 8443"):
            await client.fetch("https://plugin.example.com:8443/echo")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_dev_mode_allows_http_on_localhost_any_port(
    http_server: LoopbackServer, host: str
) -> None:
    async with GuardedClient(NetPolicy(dev_mode=True)) as client:
        response = await client.fetch(f"http://{host}:{http_server.port}/echo")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


async def test_dev_mode_still_guards_names_mapped_to_loopback(http_server: LoopbackServer) -> None:
    rule = ResolveRule.parse(f"plugin.example.com=127.0.0.1:{http_server.port}")
    policy = NetPolicy(dev_mode=True, resolve=(rule,))
    async with GuardedClient(policy) as client:
        with pytest.raises(TLSPolicyError, match="plain http"):
            await client.fetch("http://plugin.example.com/echo")
        with pytest.raises(AddressBlockedError):
            await client.fetch("https://plugin.example.com/echo")


async def test_dev_mode_does_not_open_http_localhost_outside_dev_mode(
    http_server: LoopbackServer,
) -> None:
    async with GuardedClient(NetPolicy()) as client:
        with pytest.raises(TLSPolicyError):
            await client.fetch(f"http://127.0.0.1:{http_server.port}/echo")
        with pytest.raises(AddressBlockedError):
            await client.fetch("https://localhost/echo")
