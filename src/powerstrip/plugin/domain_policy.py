"""The domain policy of spec §3, as pure functions of host names and URLs."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from publicsuffixlist import PublicSuffixList

__all__ = [
    "ApiBaseChoice",
    "choose_api_base_url",
    "email_domain",
    "host_of",
    "is_same_or_subdomain",
    "manifest_redirect_allowed",
    "registrable_domain",
    "root_domain",
    "same_registrable_domain",
]


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    # The list ships inside the package: no download at run time.
    return PublicSuffixList()


def _normalise(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def host_of(url: str) -> str:
    """The lower-case host of a URL, without port or brackets ("" when it has none)."""
    return _normalise(urlsplit(url.strip()).hostname or "")


def root_domain(host: str) -> str:
    """The plugin's root domain: the host that served the manifest, less a leading `www.`."""
    host = _normalise(host)
    return host[4:] if host.startswith("www.") and host.count(".") >= 2 else host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def registrable_domain(host: str) -> str:
    """The domain a party can register (`acme.com` for `api.acme.com`, `a.co.uk` for `x.a.co.uk`).

    This is what the rulebook calls the second-level domain; the public suffix list makes it
    right for `co.uk` and for hosting suffixes such as `vercel.app`, where each customer owns
    their own subdomain.
    """
    host = _normalise(host)
    if not host or _is_ip(host) or "." not in host:
        return host
    return str(_psl().privatesuffix(host) or host)


def same_registrable_domain(a: str, b: str) -> bool:
    """Whether two hosts share a registrable domain (`api.acme.com` and `acme.com` do)."""
    return bool(a) and registrable_domain(a) == registrable_domain(b)


def email_domain(address: str) -> str:
    """The domain of an email address ("" when it has none)."""
    _, at, domain = address.strip().rpartition("@")
    return _normalise(domain) if at else ""


def is_same_or_subdomain(host: str, parent: str) -> bool:
    """Whether `host` is `parent` or a subdomain of it (case and trailing dots ignored)."""
    host, parent = _normalise(host), _normalise(parent)
    return bool(parent) and (host == parent or host.endswith("." + parent))


def manifest_redirect_allowed(from_url: str, to_url: str) -> bool:
    """Whether a redirect met while fetching a manifest may be followed (spec §3).

    Allowed: a child subdomain of the host, `www.example.com` → `example.com`, and a move on the
    same host (the rule is about changing hosts). Never a downgrade from https to http.
    """
    source, target = urlsplit(from_url), urlsplit(to_url)
    if source.scheme == "https" and target.scheme != "https":
        return False
    from_host, to_host = host_of(from_url), host_of(to_url)
    if not from_host or not to_host:
        return False
    if from_host == to_host:
        return True
    if to_host.endswith("." + from_host):
        return True
    return from_host == "www." + to_host


@dataclass(frozen=True, slots=True)
class ApiBaseChoice:
    """The base URL the host will call, and why."""

    url: str
    on_root_domain: bool
    from_servers: bool


def choose_api_base_url(servers: Sequence[str], spec_url: str, root: str) -> ApiBaseChoice:
    """Pick the API base URL (spec §3).

    Walk `servers` in order (relative ones resolve against the spec's URL) and take the first on
    the root domain or a subdomain of it; if none fits, use the scheme and host that served the
    spec.
    """
    for server in servers:
        absolute = urljoin(spec_url, server.strip()) if spec_url else server.strip()
        if is_same_or_subdomain(host_of(absolute), root):
            return ApiBaseChoice(absolute.rstrip("/"), on_root_domain=True, from_servers=True)
    parts = urlsplit(spec_url)
    fallback = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return ApiBaseChoice(
        fallback,
        on_root_domain=is_same_or_subdomain(host_of(fallback), root),
        from_servers=False,
    )
