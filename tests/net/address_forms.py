"""The table of forbidden destinations, generated rather than written out by hand.

Networks come from two places: the special-purpose registries the `ipaddress` module carries
(what Python itself calls private, reserved, loopback, link-local, multicast, site-local), and
the IANA special-purpose registries listed below, which `ipaddress` does not flag in every
version (shared address space, benchmarking, NAT64, ...). Each network is sampled at its edges
and middle; each sample is then spelled every way a URL host can spell it: every IPv4 form
`inet_aton` accepts, with a trailing dot, and IPv6 in brackets, compressed, exploded, in
upper case, with an embedded dotted quad, and each IPv4 sample embedded in IPv6 (mapped,
compatible, translated, NAT64, 6to4, Teredo).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

__all__ = [
    "IANA_V4",
    "IANA_V6",
    "Spelling",
    "forbidden_v4_samples",
    "forbidden_v6_samples",
    "ipaddress_special_networks",
    "url_hosts",
    "v4_embeddings",
    "v4_spellings",
    "v6_spellings",
]

Network = IPv4Network | IPv6Network

# The blocks of the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and its
# updates, to RFC 9637's 3fff::/20) that are not globally reachable, plus multicast: every block
# that is not a public unicast destination. (AS112 and AMT anycast are globally reachable.)
IANA_V4 = tuple(
    IPv4Network(cidr)
    for cidr in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
    )
)
IANA_V6 = tuple(
    IPv6Network(cidr)
    for cidr in (
        "::/128",
        "::1/128",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001::/32",
        "2001:2::/48",
        "2001:10::/28",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
# Blocks that carry an IPv4 address inside: their verdict is the embedded address's, so they
# are tested through `v4_embeddings`, not sampled raw.
_EMBEDDING_V6 = (
    IPv6Network("::ffff:0:0/96"),
    IPv6Network("::/96"),
    IPv6Network("64:ff9b::/96"),
    IPv6Network("2002::/16"),
)
# The constants of `ipaddress` that hold special networks (not `_public_network`, nor the
# globally reachable exceptions of newer versions: the guard refuses the blocks around those).
_CONSTANT_NAMES = (
    "_private_networks",
    "_reserved_network",
    "_reserved_networks",
    "_loopback_network",
    "_linklocal_network",
    "_multicast_network",
    "_sitelocal_network",
)


def ipaddress_special_networks() -> tuple[tuple[IPv4Network, ...], tuple[IPv6Network, ...]]:
    """The special-purpose networks the running Python's `ipaddress` module knows.

    `ipaddress` exposes its registries only through the `is_*` properties; the networks behind
    them live in its (private) constants classes. Reading them, read-only and by name, lets the
    table follow the interpreter's registries as they change between versions; the IANA lists
    above keep the table whole if a version renames them.
    """
    found_v4: list[IPv4Network] = []
    found_v6: list[IPv6Network] = []
    for holder in (
        getattr(ipaddress, "_IPv4Constants", None),
        getattr(ipaddress, "_IPv6Constants", None),
    ):
        for name in _CONSTANT_NAMES:
            value = getattr(holder, name, None)
            for network in value if isinstance(value, list | tuple) else [value]:
                if isinstance(network, IPv4Network):
                    found_v4.append(network)
                elif isinstance(network, IPv6Network):
                    found_v6.append(network)
    return tuple(found_v4), tuple(found_v6)


def _samples(network: Network) -> list[IPv4Address | IPv6Address]:
    first, last = int(network.network_address), int(network.broadcast_address)
    points = {first, first + 1, (first + last) // 2, last - 1, last}
    kind = IPv4Address if network.version == 4 else IPv6Address
    return [kind(point) for point in sorted(p for p in points if first <= p <= last)]


def _networks() -> tuple[list[IPv4Network], list[IPv6Network]]:
    python_v4, python_v6 = ipaddress_special_networks()
    v4 = sorted(set(IANA_V4) | set(python_v4))
    v6 = sorted(
        network
        for network in set(IANA_V6) | set(python_v6)
        if not any(network.subnet_of(outer) for outer in _EMBEDDING_V6)
    )
    return v4, v6


def forbidden_v4_samples() -> list[IPv4Address]:
    """Addresses at the edges and middle of every special IPv4 network."""
    return sorted({s for network in _networks()[0] for s in _samples(network)})  # type: ignore[misc]


def forbidden_v6_samples() -> list[IPv6Address]:
    """Addresses at the edges and middle of every special IPv6 network (embeddings aside)."""
    return sorted({s for network in _networks()[1] for s in _samples(network)})  # type: ignore[misc]


def v4_embeddings(address: IPv4Address) -> dict[str, IPv6Address]:
    """`address` carried inside IPv6, by the name of the mechanism."""
    n = int(address)
    teredo_server = int(IPv4Address("65.54.227.120"))
    return {
        "mapped": IPv6Address((0xFFFF << 32) | n),
        "compatible": IPv6Address(n),
        "translated": IPv6Address((0xFFFF << 48) | n),
        "nat64": IPv6Address((0x64FF9B << 96) | n),
        "nat64-local": IPv6Address((0x64FF9B0001 << 80) | n),
        "6to4": IPv6Address((0x2002 << 112) | (n << 80) | 1),
        "teredo": IPv6Address(
            (0x20010000 << 96) | (teredo_server << 64) | (0x8000 << 48) | n ^ 0xFFFFFFFF
        ),
    }


@dataclass(frozen=True, slots=True)
class Spelling:
    """One way to write an address as a URL host; `host` goes between `//` and the path."""

    host: str
    form: str


def v4_spellings(address: IPv4Address) -> list[Spelling]:
    """Every form `inet_aton` accepts for `address`, and each with a trailing dot."""
    a, b, c, d = address.packed
    n = int(address)
    forms = {
        "dotted": f"{a}.{b}.{c}.{d}",
        "decimal": str(n),
        "hex": hex(n),
        "HEX": f"0X{n:X}",
        "octal-dotted": f"0{a:o}.0{b:o}.0{c:o}.0{d:o}",
        "hex-dotted": f"0x{a:x}.0x{b:x}.0x{c:x}.0x{d:x}",
        "mixed": f"0x{a:x}.0{b:o}.{c}.{d}",
        "three-part": f"{a}.{b}.{(c << 8) | d}",
        "two-part": f"{a}.{(b << 16) | (c << 8) | d}",
        "two-part-hex": f"0x{a:x}.0x{(b << 16) | (c << 8) | d:x}",
    }
    spellings = [Spelling(text, form) for form, text in forms.items()]
    spellings += [Spelling(f"{s.host}.", f"{s.form}+dot") for s in spellings]
    return spellings


def v6_spellings(address: IPv6Address) -> list[Spelling]:
    """`address` in brackets: compressed, exploded, upper case, and with a dotted-quad tail."""
    tail = IPv4Address(int(address) & 0xFFFFFFFF)
    groups = address.exploded.split(":")[:6]
    short = ":".join(group.lstrip("0") or "0" for group in groups)
    head = IPv6Address(int(address) & ~0xFFFFFFFF).compressed
    forms = {
        "compressed": address.compressed,
        "exploded": address.exploded,
        "upper": address.exploded.upper(),
        "dotted-tail": f"{short}:{tail}",
        "exploded-dotted-tail": f"{':'.join(groups)}:{tail}",
        # The last 32 bits are zero in `head`, so it ends in "::" or ":0:0".
        "compressed-dotted-tail": f"{head}{tail}"
        if head.endswith("::")
        else f"{head.removesuffix('0:0')}{tail}",
    }
    return [
        Spelling(f"[{text}]", form)
        for form, text in forms.items()
        # `::` may compress the very groups the tail stands in for; keep what parses back.
        if _parses_to(text, address)
    ]


def _parses_to(text: str, address: IPv6Address) -> bool:
    try:
        return IPv6Address(text) == address
    except ValueError:
        return False


def url_hosts(spelling: Spelling) -> Iterator[tuple[str, str]]:
    """The URL authorities that put `spelling` in the host: plain, with port, with userinfo."""
    yield spelling.host, spelling.form
    yield f"{spelling.host}:443", f"{spelling.form}+port"
    yield f"evil@{spelling.host}", f"{spelling.form}+userinfo"
    yield f"plugin.example.com:pw@{spelling.host}", f"{spelling.form}+host-as-userinfo"
