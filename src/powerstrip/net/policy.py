"""What the guarded client may do: the operator's policy and the URL rules of spec §3.

`NetPolicy` is plain data built once from `Settings`; `check_url` enforces the scheme and port
rule on every hop; `address_permitted` is the last word on an address about to be connected to.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from powerstrip.errors import ConfigError, TLSPolicyError
from powerstrip.net.address_guard import IPAddress, is_forbidden
from powerstrip.net.resolver import ResolveRule

if TYPE_CHECKING:
    from powerstrip.settings import Settings

__all__ = ["DEV_HOSTS", "AllowList", "NetPolicy", "address_permitted", "check_url"]

# Development mode opens exactly these host spellings (spec §3), never names mapped to them.
DEV_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True, slots=True)
class AllowList:
    """Destinations the address guard lets through although they are private or loopback.

    `hosts` are exact names or `*.suffix` wildcards (which match subdomains, not the suffix
    itself); `networks` are CIDRs matched against the address actually connected to.
    """

    hosts: tuple[str, ...] = ()
    networks: tuple[IPv4Network | IPv6Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Build an allowlist from `host`, `*.suffix` and CIDR entries, raising ConfigError."""
        hosts: list[str] = []
        networks: list[IPv4Network | IPv6Network] = []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            if "/" in entry or _looks_like_address(entry):
                try:
                    networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                except ValueError:
                    raise ConfigError(
                        f"allowlist entry {raw!r} is not a valid CIDR",
                        where="allow_hosts",
                        fix="write networks as CIDRs such as 10.1.0.0/16 or fd00::/8",
                    ) from None
                continue
            name = entry.removeprefix("*.")
            if not name or "*" in name or not all(_is_label(label) for label in name.split(".")):
                raise ConfigError(
                    f"allowlist entry {raw!r} is not a host name",
                    where="allow_hosts",
                    fix="write host names as intranet.example.com or *.corp.example",
                )
            hosts.append(entry)
        return cls(hosts=tuple(hosts), networks=tuple(networks))

    def permits(self, host: str, address: IPAddress) -> bool:
        """Say whether the operator opened `host` (by name) or `address` (by network)."""
        name = host.strip("[]").rstrip(".").lower()
        for entry in self.hosts:
            if entry.startswith("*."):
                if name.endswith(entry[1:]):
                    return True
            elif name == entry:
                return True
        return any(address.version == net.version and address in net for net in self.networks)


def _looks_like_address(entry: str) -> bool:
    try:
        ipaddress.ip_address(entry.strip("[]"))
    except ValueError:
        return False
    return True


def _is_label(label: str) -> bool:
    return 0 < len(label) <= 63 and all(ch.isalnum() or ch in "-_" for ch in label)


@dataclass(frozen=True, slots=True)
class NetPolicy:
    """The operator's rules for every outbound request (spec §3 and §6)."""

    dev_mode: bool = False
    ca_bundle: Path | None = None
    resolve: tuple[ResolveRule, ...] = ()
    allow: AllowList = field(default_factory=AllowList)
    fetch_timeout: float = 15.0
    call_timeout: float = 45.0
    max_response_bytes: int = 5_000_000
    max_redirects: int = 5
    # PEM text trusted in addition to `ca_bundle` / certifi; handy for tests and embedding.
    extra_ca_pem: bytes | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> NetPolicy:
        """Build the policy from `Settings`, raising ConfigError on malformed entries."""
        return cls(
            dev_mode=settings.dev_mode,
            ca_bundle=settings.ca_bundle,
            resolve=tuple(ResolveRule.parse(rule) for rule in settings.resolve),
            allow=AllowList.parse(settings.allow_hosts),
            fetch_timeout=settings.fetch_timeout,
            call_timeout=settings.call_timeout,
            max_response_bytes=settings.max_response_bytes,
            max_redirects=settings.max_redirects,
        )


def is_dev_host(policy: NetPolicy, host: str) -> bool:
    """Say whether development mode opens `host` (only literal localhost spellings)."""
    return policy.dev_mode and host.strip("[]").lower() in DEV_HOSTS


def check_url(policy: NetPolicy, url: httpx.URL) -> None:
    """Enforce the scheme and port rule on one hop, raising TLSPolicyError when it breaks it."""
    where = str(url.copy_with(query=None, fragment=None))
    if url.scheme not in ("http", "https"):
        raise TLSPolicyError(
            f"scheme {url.scheme!r} is not allowed",
            where=where,
            fix="use an https:// URL",
        )
    if not url.host:
        raise TLSPolicyError("the URL has no host", where=where, fix="use an absolute https URL")
    if is_dev_host(policy, url.host):
        return
    if url.scheme != "https":
        raise TLSPolicyError(
            "plain http is refused: plugins must be served over https (TLS 1.2 or later)",
            where=where,
            fix=(
                "serve the plugin over https on port 443; only http://localhost and "
                "http://127.0.0.1 are allowed, and only in development mode"
            ),
        )
    port = url.port if url.port is not None else 443
    if port != 443:
        raise TLSPolicyError(
            f"port {port} is refused: plugins must be served on port 443",
            where=where,
            fix="serve the plugin on port 443 (other ports only for localhost in dev mode)",
        )


def address_permitted(policy: NetPolicy, host: str, address: IPAddress) -> bool:
    """The address guard's verdict on connecting to `address` for the URL host `host`."""
    if not is_forbidden(address):
        return True
    if policy.allow.permits(host, address):
        return True
    return is_dev_host(policy, host) and address.is_loopback
