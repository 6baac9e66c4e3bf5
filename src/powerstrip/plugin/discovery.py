"""Find a plugin from what a user typed: a base URL, a bare domain, or the manifest's own URL."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

from powerstrip.errors import DiscoveryError

__all__ = ["WELL_KNOWN_PATH", "manifest_url_for", "spec_url_for"]

WELL_KNOWN_PATH = "/.well-known/ai-plugin.json"
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_HOSTLIKE = re.compile(r"^[A-Za-z0-9.\-\[\]:]+(?::\d+)?(?:/.*)?$")


def manifest_url_for(target: str) -> str:
    """The manifest URL for a target (spec §1).

    `example.com` and `https://example.com` give `https://example.com/.well-known/ai-plugin.json`;
    a base URL with a path gets the well-known path appended to it; a URL ending in `.json` is
    taken as the manifest itself. A bare `localhost:PORT` gets `http://`, as the original
    localhost development flow did.
    """
    text = target.strip()
    if not text:
        raise DiscoveryError(
            "no plugin address given", fix="give a URL, a domain, or a manifest URL"
        )
    if "://" not in text:
        if not _HOSTLIKE.match(text):
            raise DiscoveryError(
                f"{text!r} is not a URL or a domain",
                fix="give a URL such as https://example.com or a domain such as example.com",
            )
        host = text.split("/", 1)[0].rsplit(":", 1)[0] if "]" not in text else text
        local = any(text.startswith(h) for h in _LOCAL_HOSTS) or host in _LOCAL_HOSTS
        text = ("http://" if local else "https://") + text
    parts = _split(text, target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DiscoveryError(
            f"{target!r} is not an http(s) URL",
            fix="give a URL such as https://example.com",
        )
    path = parts.path
    if path.endswith(".json"):
        return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
    base = path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, base + WELL_KNOWN_PATH, "", ""))


def _split(text: str, target: str) -> SplitResult:
    """`urlsplit`, with its errors (and the ones it defers to `.port`) as DiscoveryError."""
    fix = "give a URL such as https://example.com or https://example.com:8443/plugin"
    if not text.isprintable() or any("\ud800" <= char <= "\udfff" for char in text):
        # A lone surrogate or a control character cannot be sent on the wire, only echoed.
        raise DiscoveryError(
            f"{target!r} holds a control character or a lone surrogate, so it is not a URL",
            fix=fix,
        )
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError as exc:
        raise DiscoveryError(f"{target!r} is not a valid URL: {exc}", fix=fix) from None
    return parts


def spec_url_for(manifest_url: str, api_url: str) -> str:
    """The absolute spec URL: a relative `api.url` resolves against the manifest's URL's host."""
    return urljoin(manifest_url, api_url.strip())
