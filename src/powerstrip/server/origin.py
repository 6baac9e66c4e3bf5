"""Whether a browser's request comes from the host's own pages (same origin) or another site.

Browsers say where a request comes from in `Sec-Fetch-Site` (modern browsers), `Origin` (every
cross-origin POST, and same-origin ones too in current browsers) and `Referer` (older ones,
unless a policy strips it). A state-changing page accepts a request only when none of them
names another site. A request with none of them (a privacy proxy, a script) is left to the
form token that each such page checks as well: the headers are the first fence, not the only one.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["cross_site_refusal", "origin_of"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# "none": the user opened it themselves (typed, bookmarked); never another site's doing.
_TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})


def origin_of(url: str) -> str | None:
    """`scheme://host:port` of `url` (default port filled in), or None when it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname or port is None:
        return None
    return f"{parts.scheme.lower()}://{parts.hostname.lower()}:{port}"


def cross_site_refusal(headers: Mapping[str, str], public_url: str) -> str | None:
    """Why a request must be refused as cross-site, or None when nothing says it is."""
    own = origin_of(public_url)
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.strip().lower() not in _TRUSTED_FETCH_SITES:
        return f"The browser says this request came from another site ({fetch_site})."
    origin = headers.get("origin")
    if origin is not None:
        # "null": a sandboxed frame, a data: URL or a redirect chain across sites.
        if origin_of(origin) != own:
            return "This request came from another site, not from Powerstrip's own page."
        return None
    referer = headers.get("referer")
    if referer and origin_of(referer) != own:
        return "This request came from another site, not from Powerstrip's own page."
    return None
