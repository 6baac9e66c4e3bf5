"""The address guard against every spelling of every address it must refuse, generated.

`tests/net/address_forms.py` builds the table from Python's and IANA's special-purpose
registries. Each entry goes through the real client (`fetch` and `request`) and must fail with
AddressBlockedError naming the address it spells; the autouse tripwire of `conftest.py` fails
the test if any connection to a non-loopback address is even attempted, and for loopback an
`AcceptRecorder` listening where the request would land proves that none was made.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from powerstrip.errors import AddressBlockedError, NetError, TLSPolicyError
from powerstrip.net import AllowList, GuardedClient, NetPolicy, ResolveRule
from powerstrip.net.address_guard import embedded_ipv4, is_forbidden, parse_host_literal
from powerstrip.net.transport import GuardedNetworkBackend
from powerstrip.testing import LoopbackServer
from tests.net.accept_recorder import AcceptRecorder
from tests.net.address_forms import (
    IANA_V4,
    IANA_V6,
    forbidden_v4_samples,
    forbidden_v6_samples,
    ipaddress_special_networks,
    url_hosts,
    v4_embeddings,
    v4_spellings,
    v6_spellings,
)

pytestmark = [pytest.mark.anyio, pytest.mark.network]

LOOPBACK = IPv4Address("127.0.0.1")
# The addresses an attacker aims at first: the host itself, every interface, cloud metadata.
TARGETS = (LOOPBACK, IPv4Address(0), IPv4Address("169.254.169.254"), IPv4Address("10.0.0.1"))


def _all_v6() -> list[IPv6Address]:
    embedded = [e for a in forbidden_v4_samples() for e in v4_embeddings(a).values()]
    return sorted(set(forbidden_v6_samples()) | set(embedded))


def test_the_table_is_drawn_from_python_s_registries_and_iana_s() -> None:
    python_v4, python_v6 = ipaddress_special_networks()
    # If a Python version moved its registries, the table would shrink to the IANA lists:
    # say so rather than test less without a word.
    assert len(python_v4) >= 10, "ipaddress's IPv4 registries were not found"
    assert len(python_v6) >= 10, "ipaddress's IPv6 registries were not found"
    samples = set(forbidden_v4_samples()) | set(forbidden_v6_samples())
    for network in (*python_v4, *python_v6, *IANA_V4, *IANA_V6):
        if network.version == 6 and network.subnet_of(ipaddress.IPv6Network("::ffff:0:0/96")):
            continue  # embedded IPv4: sampled through v4_embeddings
        assert network.network_address in samples, network
        assert network.broadcast_address in samples, network


def test_every_special_address_and_every_embedding_is_forbidden() -> None:
    missed = [a for a in forbidden_v4_samples() if not is_forbidden(a)]
    missed += [a for a in forbidden_v6_samples() if not is_forbidden(a)]
    missed += [
        f"{kind} {embedded} (carrying {address})"
        for address in forbidden_v4_samples()
        for kind, embedded in v4_embeddings(address).items()
        if not is_forbidden(embedded)
    ]
    assert missed == [], f"the guard lets these through: {missed}"


def test_every_spelling_is_read_as_the_address_it_spells() -> None:
    wrong = []
    for address in forbidden_v4_samples():
        for spelling in v4_spellings(address):
            if parse_host_literal(spelling.host) != address:
                wrong.append((spelling, address))
            # The system's parser, which resolvers use, reads the same address.
            if not spelling.host.endswith(".") and socket.inet_aton(spelling.host) != (
                address.packed
            ):
                wrong.append((spelling, "inet_aton disagrees"))
    for address in _all_v6():
        spellings = v6_spellings(address)
        if len(spellings) < 5:
            wrong.append((address, f"only {len(spellings)} spellings"))
        wrong += [(s, address) for s in spellings if parse_host_literal(s.host) != address]
    assert wrong == []


_SPECIAL = [*IANA_V4, *IANA_V6, *ipaddress_special_networks()[0], *ipaddress_special_networks()[1]]


@given(st.sampled_from(_SPECIAL).flatmap(lambda network: st.ip_addresses(network=network)))
def test_any_address_inside_a_special_network_is_forbidden(
    address: IPv4Address | IPv6Address,
) -> None:
    inner = embedded_ipv4(address) if isinstance(address, IPv6Address) else None
    # ::ffff:8.8.8.8 is 8.8.8.8: an embedding of a public address is public.
    assert is_forbidden(address) == (is_forbidden(inner) if inner is not None else True)


@given(st.ip_addresses())
def test_the_guard_refuses_whatever_python_calls_not_global(
    address: IPv4Address | IPv6Address,
) -> None:
    inner = embedded_ipv4(address) if isinstance(address, IPv6Address) else None
    if inner is not None:
        assert is_forbidden(address) == is_forbidden(inner)
    elif not address.is_global or address.is_multicast or address.is_reserved:
        assert is_forbidden(address)


async def _refusals(client: GuardedClient, urls: Iterable[tuple[str, str, str]]) -> list[str]:
    """Each URL through fetch and request; the ones not refused as they must be, described."""
    wrong = []
    for url, form, address in urls:
        for method in ("fetch", "request"):
            try:
                if method == "fetch":
                    await client.fetch(url)
                else:
                    await client.request("POST", url, json={"x": 1})
            except AddressBlockedError as exc:
                if address not in exc.message or not exc.fix or not exc.where:
                    wrong.append(f"{method} {url} ({form}): unclear error {exc}")
            except NetError as exc:
                wrong.append(f"{method} {url} ({form}): {type(exc).__name__} {exc}")
            else:
                wrong.append(f"{method} {url} ({form}): not refused")
    return wrong


def _v4_urls(addresses: Iterable[IPv4Address], *, every_authority: bool) -> list[tuple[str, ...]]:
    urls = []
    for address in addresses:
        for spelling in v4_spellings(address):
            authorities = url_hosts(spelling) if every_authority else [(spelling.host, "")]
            urls += [(f"https://{host}/x", form, str(address)) for host, form in authorities]
    return urls


def _v6_urls(addresses: Iterable[IPv6Address], *, every_authority: bool) -> list[tuple[str, ...]]:
    urls = []
    for address in addresses:
        for spelling in v6_spellings(address):
            authorities = url_hosts(spelling) if every_authority else [(spelling.host, "")]
            urls += [(f"https://{host}/x", form, str(address)) for host, form in authorities]
    return urls


async def test_every_ipv4_spelling_is_refused_by_the_client() -> None:
    async with GuardedClient(NetPolicy()) as client:
        wrong = await _refusals(client, _v4_urls(forbidden_v4_samples(), every_authority=False))
        wrong += await _refusals(client, _v4_urls(TARGETS, every_authority=True))
    assert wrong == []


async def test_every_ipv6_spelling_and_embedding_is_refused_by_the_client() -> None:
    embedded = [e for a in TARGETS for e in v4_embeddings(a).values()]
    async with GuardedClient(NetPolicy()) as client:
        wrong = await _refusals(client, _v6_urls(forbidden_v6_samples(), every_authority=False))
        wrong += await _refusals(client, _v6_urls(embedded, every_authority=True))
    assert wrong == []


@pytest.mark.parametrize(
    ("url", "error", "says"),
    [
        # Names that are loopback by definition, in any case and with a trailing dot.
        ("https://LOCALHOST/", AddressBlockedError, "127.0.0.1"),
        ("https://localhost./", AddressBlockedError, "127.0.0.1"),
        ("https://LocalHost.:443/", AddressBlockedError, "127.0.0.1"),
        ("https://api.localhost/", AddressBlockedError, "127.0.0.1"),
        ("https://evil@localhost/", AddressBlockedError, "127.0.0.1"),
        # The address after the last @ is the host, whatever comes before it.
        ("https://plugin.example.com@127.0.0.1/", AddressBlockedError, "127.0.0.1"),
        ("https://plugin.example.com:443@[::1]/", AddressBlockedError, "::1"),
        ("https://example.com\\@127.0.0.1/", AddressBlockedError, "127.0.0.1"),
        ("https://a:b@169.254.169.254:443/latest/meta-data/", AddressBlockedError, "169.254"),
        # A zone id does not hide a link-local address.
        ("https://[fe80::1%25eth0]/", AddressBlockedError, "fe80::1"),
        # IDN: full-width and ideographic forms of a literal are the literal.
        ("https://１２７.０.０.１/", AddressBlockedError, "127.0.0.1"),
        ("https://127。0。0。1/", AddressBlockedError, "127.0.0.1"),
        ("https://127．0．0．1/", AddressBlockedError, "127.0.0.1"),
        # IDN that IDNA 2008 refuses: refused as an invalid URL, never sent to DNS.
        ("https://ⓛocalhost/", TLSPolicyError, "invalid URL"),
        ("https://ｌｏｃａｌｈｏｓｔ/", TLSPolicyError, "invalid URL"),
        ("https://xn--localhost/", TLSPolicyError, "invalid URL"),
        # httpx refuses octal with a leading zero; the client says what it spelled.
        ("https://0177.0.0.1/", AddressBlockedError, "spells 127.0.0.1"),
        ("https://[::ffff:0x7f.1]/", TLSPolicyError, "invalid URL"),
    ],
)
async def test_names_idn_and_userinfo_tricks_are_refused(
    url: str, error: type[NetError], says: str
) -> None:
    async with GuardedClient(NetPolicy()) as client:
        for call in (client.fetch(url), client.request("GET", url)):
            with pytest.raises(error) as caught:
                await call
            assert says in caught.value.message, caught.value
            assert caught.value.fix


@pytest.mark.parametrize("url", ["https://PLUGIN.EXAMPLE.COM./", "https://Plugin.Example.Com:443/"])
async def test_a_mapped_name_is_guarded_in_any_case_and_with_a_trailing_dot(url: str) -> None:
    # If case or the dot slipped past the override, the name would go to DNS instead: the
    # error must be the guard's, on the mapped address.
    rule = ResolveRule.parse("plugin.example.com=10.9.8.7")
    async with GuardedClient(NetPolicy(resolve=(rule,))) as client:
        with pytest.raises(AddressBlockedError, match=r"10\.9\.8\.7"):
            await client.fetch(url)


def _loopback_hosts() -> list[str]:
    """Every host spelling that dials a loopback listener, without brackets."""
    addresses = [LOOPBACK, IPv4Address("127.1.2.3"), IPv4Address(0)]
    hosts = [s.host for a in addresses for s in v4_spellings(a)]
    hosts += [
        s.host.strip("[]")
        for a in addresses
        for e in v4_embeddings(a).values()
        for s in v6_spellings(e)
    ]
    return [*hosts, "localhost", "LOCALHOST", "localhost.", "api.localhost", "::1", "::"]


async def test_no_loopback_spelling_reaches_a_listener_at_connect() -> None:
    with AcceptRecorder() as listener:
        guarded = GuardedNetworkBackend(NetPolicy())
        passed = []
        for host in _loopback_hosts():
            try:
                stream = await guarded.connect_tcp(host, listener.port, timeout=5)
            except AddressBlockedError:
                continue
            passed.append(host)
            await stream.aclose()
        assert passed == []
        assert listener.accepted == []
        # The control: opened for one site, the same dial lands, so the listener would have
        # caught any spelling that got through.
        opened = GuardedNetworkBackend(
            NetPolicy(allow=AllowList.parse(["127.0.0.0/8=plugin.example.com"])),
            site="plugin.example.com",
        )
        stream = await opened.connect_tcp("2130706433", listener.port, timeout=5)
        await stream.aclose()
        assert len(listener.wait_for(1)) == 1


async def test_a_name_mapped_to_loopback_never_reaches_the_listener() -> None:
    with AcceptRecorder() as listener:
        rule = ResolveRule.parse(f"plugin.example.com:443=127.0.0.1:{listener.port}")
        async with GuardedClient(NetPolicy(resolve=(rule,))) as client:
            with pytest.raises(AddressBlockedError):
                await client.fetch("https://plugin.example.com/")
            with pytest.raises(AddressBlockedError):
                await client.request("POST", "https://plugin.example.com/", json={})
        assert listener.accepted == []
        opened = NetPolicy(resolve=(rule,), allow=AllowList.parse(["plugin.example.com"]))
        async with GuardedClient(opened) as client:
            with pytest.raises(NetError):  # the listener hangs up: no TLS, no answer
                await client.fetch("https://plugin.example.com/")
        assert len(listener.wait_for(1)) == 1


async def test_development_mode_opens_only_the_plugin_s_own_localhost_origin(
    http_server: LoopbackServer,
) -> None:
    own = f"http://localhost:{http_server.port}"
    with AcceptRecorder() as listener:
        other = listener.port
        async with GuardedClient(NetPolicy(dev_mode=True)) as client:
            # The plugin's own origin, under each of the three names dev mode knows.
            for url in (f"{own}/echo", f"http://127.0.0.1:{http_server.port}/echo"):
                answer = await client.request("GET", url, origin=own)
                assert answer.status_code == 200, url
            refused = [
                f"http://localhost:{other}/",
                f"http://127.0.0.1:{other}/",
                f"http://LOCALHOST:{other}/",
                f"http://evil@localhost:{other}/",
                f"http://[::1]:{other}/",
                # Only the literal spellings are development hosts; every other is plain http.
                f"http://localhost.:{http_server.port}/",
                f"http://api.localhost:{http_server.port}/",
                f"http://2130706433:{http_server.port}/",
                f"http://127.1:{http_server.port}/",
                f"http://0x7f.1:{http_server.port}/",
                f"http://0:{http_server.port}/",
                f"http://[::ffff:127.0.0.1]:{http_server.port}/",
                *(f"http://{h}:{other}/" for h in ("2130706433", "127.1", "0x7f.1", "0")),
                # Private and link-local addresses stay closed in development mode too.
                "https://10.0.0.1/",
                "https://169.254.169.254/",
                "https://[fd00::1]/",
            ]
            wrong = []
            for url in refused:
                for send in ("request", "fetch"):
                    try:
                        if send == "request":
                            await client.request("GET", url, origin=own)
                        else:
                            await client.fetch(url, origin=own)
                    except (AddressBlockedError, TLSPolicyError) as exc:
                        if not exc.fix:
                            wrong.append(f"{send} {url}: no fix in {exc}")
                    else:
                        wrong.append(f"{send} {url}")
            assert wrong == []
            assert listener.accepted == []
            # The control: for a plugin whose own origin is the listener's, it is reached.
            with pytest.raises(NetError):
                await client.request(
                    "GET", f"http://localhost:{other}/", origin=f"http://localhost:{other}"
                )
        assert len(listener.wait_for(1)) == 1
