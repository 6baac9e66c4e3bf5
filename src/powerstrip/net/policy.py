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

from powerstrip.errors import AddressBlockedError, ConfigError, TLSPolicyError
from powerstrip.net.address_guard import IPAddress, is_forbidden
from powerstrip.net.own_addresses import OwnAddresses
from powerstrip.net.resolver import ResolveRule

if TYPE_CHECKING:
    from powerstrip.settings import Settings

__all__ = [
    "DEV_HOSTS",
    "AllowEntry",
    "AllowList",
    "NetPolicy",
    "address_permitted",
    "check_url",
]

# Development mode opens exactly these host spellings (spec §3), never names mapped to them.
DEV_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


_ALLOW_FIX = (
    "write each entry as DESTINATION or DESTINATION=SITE: DESTINATION a host name "
    "(intranet.example.com), *.suffix or a CIDR (10.1.0.0/16), SITE the host that serves the "
    "plugin's manifest (or *.suffix); a CIDR needs its SITE"
)


@dataclass(frozen=True, slots=True)
class AllowEntry:
    """One destination the operator opened, and the plugins it is opened for.

    `host` (an exact name or `*.suffix`) or `network` says which destination; `site` (an exact
    name or `*.suffix`) says for which plugins, by the host that serves their manifest. Without a
    site, a host is opened only for the plugin it belongs to: a plugin whose manifest host is the
    destination, or whose root domain (the manifest host less `www.`) the destination is on.
    """

    host: str | None = None
    network: IPv4Network | IPv6Network | None = None
    site: str | None = None

    def opens(self, host: str, address: IPAddress, site: str) -> bool:
        """Say whether this entry lets a request made for `site` reach `host` at `address`."""
        if self.network is not None:
            reached = address.version == self.network.version and address in self.network
        else:
            reached = self.host is not None and _name_matches(self.host, host)
        if not reached:
            return False
        if self.site is not None:
            return _name_matches(self.site, site)
        root = site[4:] if site.startswith("www.") and site.count(".") >= 2 else site
        return bool(root) and (host in (site, root) or host.endswith("." + root))


def _name_matches(pattern: str, name: str) -> bool:
    # `*.suffix` matches subdomains of the suffix, not the suffix itself.
    if pattern.startswith("*."):
        return name.endswith(pattern[1:])
    return name == pattern


@dataclass(frozen=True, slots=True)
class AllowList:
    """Destinations the address guard lets through although they are private or loopback.

    Each entry opens a destination for one plugin (or the plugins of one site), never for every
    plugin: a private address one plugin needs must not become reachable through another
    plugin's manifest.
    """

    entries: tuple[AllowEntry, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Build an allowlist from `DESTINATION[=SITE]` entries, raising ConfigError."""
        parsed: list[AllowEntry] = []
        for raw in entries:
            text = raw.strip().lower()
            if not text:
                continue
            destination, sep, site_text = (part.strip().rstrip(".") for part in text.partition("="))
            site = _parse_name(site_text, raw) if sep else None
            if "/" in destination or _looks_like_address(destination):
                try:
                    network = ipaddress.ip_network(destination.strip("[]"), strict=False)
                except ValueError:
                    raise ConfigError(
                        f"allowlist entry {raw!r} is not a valid CIDR",
                        where="allow_hosts",
                        fix="write networks as CIDRs such as 10.1.0.0/16=intranet.example.com",
                    ) from None
                if site is None:
                    raise ConfigError(
                        f"allowlist entry {raw!r} would open {network} to every plugin",
                        where="allow_hosts",
                        fix=f"name the plugin it is for: {destination}=PLUGIN-HOST "
                        "(the host that serves its manifest)",
                    )
                parsed.append(AllowEntry(network=network, site=site))
                continue
            parsed.append(AllowEntry(host=_parse_name(destination, raw), site=site))
        return cls(entries=tuple(parsed))

    def permits(self, host: str, address: IPAddress, site: str | None = None) -> bool:
        """Say whether the operator opened `host` at `address` for a request made for `site`.

        `site` is the host that serves the manifest of the plugin the request is for; None
        means the destination itself (a manifest fetch).
        """
        name = host.strip("[]").rstrip(".").lower()
        on_behalf = (site or name).strip("[]").rstrip(".").lower()
        return any(entry.opens(name, address, on_behalf) for entry in self.entries)


def _parse_name(text: str, raw: str) -> str:
    name = text.removeprefix("*.")
    if not name or "*" in name or not all(_is_label(label) for label in name.split(".")):
        raise ConfigError(
            f"allowlist entry {raw!r} has {text!r}, which is not a host name",
            where="allow_hosts",
            fix=_ALLOW_FIX,
        )
    return text


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
    # Mutable on purpose: the server adds the addresses it is reached at as it learns them.
    own: OwnAddresses = field(default_factory=OwnAddresses, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> NetPolicy:
        """Build the policy from `Settings`, raising ConfigError on malformed entries."""
        own = OwnAddresses()
        own.add_origin(settings.public_url)
        return cls(
            own=own,
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


def _port(url: httpx.URL) -> int:
    return url.port if url.port is not None else (443 if url.scheme == "https" else 80)


def check_url(policy: NetPolicy, url: httpx.URL, origin: httpx.URL | None = None) -> None:
    """Enforce the scheme, port and origin rules on one hop, raising a NetError.

    `origin` is the URL of the site the request is made for (a plugin's manifest); None means
    the destination itself. In development mode a localhost destination is allowed only when it
    is that origin's own localhost host and port: a plugin must not reach other local services.
    The host's own public origin is refused in every mode.
    """
    where = str(url.copy_with(query=None, fragment=None))
    if url.scheme not in ("http", "https"):
        raise TLSPolicyError(
            f"scheme {url.scheme!r} is not allowed",
            where=where,
            fix="use an https:// URL",
        )
    if not url.host:
        raise TLSPolicyError("the URL has no host", where=where, fix="use an absolute https URL")
    if policy.own.is_own_origin(url.host, _port(url)):
        raise own_address_error(where)
    if is_dev_host(policy, url.host):
        if origin is not None and not _same_local_origin(origin, url):
            raise AddressBlockedError(
                f"development mode opens only the plugin's own localhost origin "
                f"({origin.scheme}://{origin.netloc.decode('ascii')}), not port {_port(url)} "
                f"of {url.host}",
                where=where,
                fix=(
                    "serve the plugin's API, spec and OAuth endpoints from the host and port "
                    "of its manifest"
                ),
            )
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
    port = _port(url)
    if port != 443:
        raise TLSPolicyError(
            f"port {port} is refused: plugins must be served on port 443",
            where=where,
            fix="serve the plugin on port 443 (other ports only for localhost in dev mode)",
        )


def _same_local_origin(origin: httpx.URL, url: httpx.URL) -> bool:
    # The loopback spellings name one machine: localhost:5003 and 127.0.0.1:5003 are one origin.
    return origin.host.strip("[]").lower() in DEV_HOSTS and _port(origin) == _port(url)


def own_address_error(where: str) -> AddressBlockedError:
    """The refusal of a destination that is the host itself."""
    return AddressBlockedError(
        "this is the host's own address: the host never sends requests to itself",
        where=where,
        fix="serve the plugin from its own host and port, not from the Powerstrip server's",
    )


def address_permitted(
    policy: NetPolicy, host: str, address: IPAddress, site: str | None = None
) -> bool:
    """The address guard's verdict on connecting to `address` for the URL host `host`.

    `site` is the manifest host of the plugin the connection is for (None: `host` itself);
    the operator's allowlist opens destinations per site.
    """
    if not is_forbidden(address):
        return True
    if policy.allow.permits(host, address, site):
        return True
    return is_dev_host(policy, host) and address.is_loopback
