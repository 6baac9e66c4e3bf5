"""Name resolution for the guarded client: operator overrides first, then the system resolver.

A name is resolved exactly once per connection; the caller checks every address returned and
then connects to one of those same addresses, so there is no window for DNS rebinding.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass

import anyio

from powerstrip.errors import ConfigError, ConnectError
from powerstrip.net.address_guard import IPAddress, ip_address, parse_host_literal

__all__ = ["ResolveRule", "Resolved", "resolve"]

logger = logging.getLogger(__name__)

_RULE_FIX = (
    "write the override as HOST=ADDR, HOST=ADDR:PORT or HOST:PORT=ADDR:PORT, with IPv6 "
    "addresses in brackets, e.g. api.example.com:443=[::1]:8443"
)
# RFC 6761: `localhost` names are loopback by definition; answering them here keeps the answer
# independent of /etc/hosts and never sends them to DNS.
_LOOPBACK = (ip_address("127.0.0.1"), ip_address("::1"))


@dataclass(frozen=True, slots=True)
class ResolveRule:
    """One name-to-address override, like curl's `--resolve` / `--connect-to`.

    `port` (when set) limits the rule to connections to that port; `to_port` (when set) changes
    the port connected to, which is how a test puts `https://plugin.example.com/` on a loopback
    server listening on a random port.
    """

    host: str
    address: IPAddress
    port: int | None = None
    to_port: int | None = None

    @classmethod
    def parse(cls, text: str) -> ResolveRule:
        """Parse `HOST=ADDR`, `HOST=ADDR:PORT` or `HOST:PORT=ADDR:PORT`, raising ConfigError."""
        left, sep, right = text.strip().partition("=")
        if not sep or not left or not right:
            raise ConfigError(
                f"resolve override {text!r} has no '='", where="resolve", fix=_RULE_FIX
            )
        host, port = _split_host_port(left, text)
        address_text, to_port = _split_host_port(right, text)
        try:
            address = ip_address(address_text)
        except ValueError:
            raise ConfigError(
                f"resolve override {text!r} maps to {address_text!r}, which is not an IP address",
                where="resolve",
                fix=_RULE_FIX,
            ) from None
        return cls(host=_normalise(host), address=address, port=port, to_port=to_port)

    def matches(self, host: str, port: int) -> bool:
        """Say whether this rule applies to a connection to `host` on `port`."""
        return self.host == _normalise(host) and (self.port is None or self.port == port)


@dataclass(frozen=True, slots=True)
class Resolved:
    """Where a connection to a host name will go: candidate addresses (in order) and a port."""

    addresses: tuple[IPAddress, ...]
    port: int
    source: str


def _normalise(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _split_host_port(text: str, rule: str) -> tuple[str, int | None]:
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ConfigError(
                f"resolve override {rule!r} has an unclosed '['", where="resolve", fix=_RULE_FIX
            )
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ConfigError(
                f"resolve override {rule!r} is malformed", where="resolve", fix=_RULE_FIX
            )
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif ":" in text:
        raise ConfigError(
            f"resolve override {rule!r} has an IPv6 address without brackets",
            where="resolve",
            fix=_RULE_FIX,
        )
    else:
        host, port_text = text, None
    if not host:
        raise ConfigError(
            f"resolve override {rule!r} has an empty host", where="resolve", fix=_RULE_FIX
        )
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(
            f"resolve override {rule!r} has an invalid port {port_text!r}",
            where="resolve",
            fix=_RULE_FIX,
        )
    return host, int(port_text)


async def resolve(host: str, port: int, rules: Sequence[ResolveRule] = ()) -> Resolved:
    """Resolve `host` once: an override rule, else an IP literal, else `localhost`, else DNS."""
    for rule in rules:
        if rule.matches(host, port):
            target_port = rule.to_port if rule.to_port is not None else port
            return Resolved((rule.address,), target_port, "override")
    literal = parse_host_literal(host)
    if literal is not None:
        return Resolved((literal,), port, "literal")
    name = _normalise(host)
    if name == "localhost" or name.endswith(".localhost"):
        return Resolved(_LOOPBACK, port, "localhost")
    try:
        infos = await anyio.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ConnectError(
            f"could not resolve {host!r}: {exc}",
            where=host,
            fix="check the host name, or map it with a resolve override",
        ) from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = ip_address(str(sockaddr[0]))
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ConnectError(
            f"{host!r} resolved to no address", where=host, fix="check its DNS records"
        )
    logger.debug("net.resolve host=%s addresses=%s", name, ",".join(map(str, addresses)))
    return Resolved(tuple(addresses), port, "dns")
