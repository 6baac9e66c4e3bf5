"""The address guard's pure functions: literal parsing and the forbidden-address verdict."""

from __future__ import annotations

import ipaddress
import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from powerstrip.net.address_guard import embedded_ipv4, is_forbidden, parse_host_literal

LOOPBACK = ipaddress.IPv4Address("127.0.0.1")
UNSPECIFIED = str(ipaddress.IPv4Address(0))  # spelled this way: ruff reads "0.0.0.0" as a bind


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0", UNSPECIFIED),
        (UNSPECIFIED, UNSPECIFIED),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("[::ffff:7f00:1]", "::ffff:7f00:1"),
        ("[::]", "::"),
        ("[fe80::1%eth0]", "fe80::1%eth0"),
    ],
)
def test_parse_host_literal_understands_every_spelling(host: str, expected: str) -> None:
    assert parse_host_literal(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize(
    "host",
    [
        "plugin.example.com",
        "localhost",
        "1.2.3.4.5",
        "256.1.1.1",
        "0x",
        "08.0.0.1",
        "1..2",
        "",
        "[zz]",
    ],
)
def test_parse_host_literal_returns_none_for_names_and_junk(host: str) -> None:
    assert parse_host_literal(host) is None


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.255.254",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.255",
        UNSPECIFIED,
        "0.1.2.3",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "198.18.0.1",
        "::",
        "::1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::127.0.0.1",
        "64:ff9b::a00:1",
        "64:ff9b::7f00:1",
        "2002:7f00:1::1",
        "2002:c0a8:101::",
        "2001:db8::1",
        "2001::1",
    ],
)
def test_forbidden_addresses(address: str) -> None:
    assert is_forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "8.8.8.8",
        "1.1.1.1",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "2002:808:808::1",
    ],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_forbidden(ipaddress.ip_address(address))


def test_embedded_ipv4_sees_through_mapped_nat64_and_6to4() -> None:
    for text in ("::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "::127.0.0.1"):
        assert embedded_ipv4(ipaddress.IPv6Address(text)) == LOOPBACK
    assert embedded_ipv4(ipaddress.IPv6Address("2606:4700::1")) is None


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_ipv4_spelling_parses_like_inet_aton(number: int) -> None:
    packed = struct.pack("!I", number)
    expected = ipaddress.IPv4Address(number)
    a, b, c, d = packed
    spellings = [
        str(number),
        hex(number),
        f"{a}.{b}.{c}.{d}",
        f"0{a:o}.0x{b:x}.{c}.{d}",
        f"{a}.{(b << 16) | (c << 8) | d}",
        f"{a}.{b}.{(c << 8) | d}",
    ]
    for spelling in spellings:
        assert parse_host_literal(spelling) == expected, spelling
        # The system's own parser agrees: what resolvers accept, the guard understands.
        assert socket.inet_aton(spelling) == packed, spelling


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_mapped_and_plain_ipv4_get_the_same_verdict(number: int) -> None:
    plain = ipaddress.IPv4Address(number)
    mapped = ipaddress.IPv6Address(f"::ffff:{plain}")
    assert is_forbidden(mapped) == is_forbidden(plain)


@given(st.ip_addresses(v=4, network="10.0.0.0/8") | st.ip_addresses(v=6, network="fc00::/7"))
def test_private_ranges_are_always_forbidden(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    assert is_forbidden(address)
