"""The address guard: which IP addresses outbound requests may never reach.

Pure functions, no I/O. `parse_host_literal` understands every way a URL host can spell an IP
address (the forms `inet_aton` accepts: decimal, octal, hex, short forms; bracketed IPv6), so a
literal never goes to DNS; `is_forbidden` says whether an address is loopback, private,
link-local, multicast, reserved or otherwise not a public unicast destination, looking through
IPv4 addresses embedded in IPv6 (mapped, compatible, NAT64, 6to4).
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

__all__ = [
    "IPAddress",
    "embedded_ipv4",
    "ip_address",
    "is_forbidden",
    "parse_host_literal",
    "parse_ipv4_literal",
]

IPAddress = IPv4Address | IPv6Address

# Ranges Python's `is_private` / `is_global` miss or that changed meaning between Python
# versions; listing them makes the guard's answer independent of the interpreter.
_FORBIDDEN_V4: tuple[IPv4Network, ...] = tuple(
    IPv4Network(cidr)
    for cidr in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata services live here
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, includes broadcast
    )
)
_FORBIDDEN_V6: tuple[IPv6Network, ...] = tuple(
    IPv6Network(cidr)
    for cidr in (
        "::/128",
        "::1/128",
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments (Teredo, ORCHID, ...)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637, 2024; Python 3.11 calls it global)
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local
        "ff00::/8",  # multicast
    )
)
_MAPPED = IPv6Network("::ffff:0:0/96")
_COMPATIBLE = IPv6Network("::/96")
_NAT64 = IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = IPv6Network("2002::/16")


def parse_ipv4_literal(text: str) -> IPv4Address | None:
    """Parse an IPv4 address the way `inet_aton` does, or return None when `text` is not one.

    Accepts one to four dot-separated parts, each decimal, octal (leading `0`) or hex (`0x`);
    the last part fills the remaining bytes, so `127.1`, `2130706433` and `0x7f.0.0.1` are all
    127.0.0.1. Resolvers accept these forms, so the guard must too.
    """
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        value = _parse_ipv4_part(part)
        if value is None:
            return None
        values.append(value)
    *head, last = values
    if any(value > 0xFF for value in head):
        return None
    if last >= 1 << (8 * (4 - len(head))):
        return None
    number = last
    for index, value in enumerate(head):
        number |= value << (8 * (3 - index))
    return IPv4Address(number)


def _parse_ipv4_part(part: str) -> int | None:
    if not part:
        return None
    lowered = part.lower()
    try:
        if lowered.startswith("0x"):
            # inet_aton refuses a bare "0x"; int() refuses it too, so it falls to None.
            return int(lowered[2:], 16)
        if len(lowered) > 1 and lowered.startswith("0"):
            return int(lowered[1:], 8)
        if lowered.isdigit():
            return int(lowered, 10)
    except ValueError:
        return None
    return None


def parse_host_literal(host: str) -> IPAddress | None:
    """Return the IP address a URL host spells literally, or None when it is a name.

    Handles brackets (`[::1]`), zone ids (`fe80::1%eth0`), a trailing dot, and every IPv4 form
    of `parse_ipv4_literal`.
    """
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return IPv6Address(text)
        except ValueError:
            return None
    if text.endswith("."):
        text = text[:-1]
    return parse_ipv4_literal(text)


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """Return the IPv4 address carried inside an IPv6 address, if it carries one.

    Covers IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`)
    and 6to4 (`2002:AABB:CCDD::/48`).
    """
    if address in _MAPPED or address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _COMPATIBLE and int(address) > 1:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return IPv4Address((int(address) >> 80) & 0xFFFFFFFF)
    return None


def is_forbidden(address: IPAddress) -> bool:
    """Say whether outbound requests must never reach `address` (unless an operator allows it).

    True for loopback, private, link-local, multicast, reserved, unspecified, documentation and
    shared (CGNAT) ranges, IPv6 unique-local and site-local, and any IPv6 address whose embedded
    IPv4 address is itself forbidden.
    """
    if isinstance(address, IPv4Address):
        return any(address in network for network in _FORBIDDEN_V4) or not address.is_global
    # A zone id only matters to link-local addresses, which are forbidden anyway.
    plain = IPv6Address(address.compressed.split("%", 1)[0])
    inner = embedded_ipv4(plain)
    if inner is not None:
        return is_forbidden(inner)
    if any(plain in network for network in _FORBIDDEN_V6):
        return True
    return plain.is_multicast or plain.is_reserved or not plain.is_global


def ip_address(text: str) -> IPAddress:
    """Parse a standard textual IP address (no inet_aton forms), raising ValueError otherwise."""
    return ipaddress.ip_address(text.strip("[]"))
