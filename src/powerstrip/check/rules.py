"""The rules that need more than one document: domain policy, TLS policy of URLs, steering.

`plugin/` judges a manifest on its own and `openapi/` a spec on its own; these rules look at
both together, with the root domain the manifest was served from.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from powerstrip.findings import RULES, Finding, quote_value
from powerstrip.plugin import (
    Manifest,
    OAuthAuth,
    email_domain,
    find_steering,
    host_of,
    registrable_domain,
    same_registrable_domain,
)

__all__ = [
    "LOCAL_HOSTS",
    "domain_findings",
    "steering_findings",
    "url_findings",
    "url_policy_findings",
]

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# Pages a person may open but the host never fetches for the plugin to work. A plugin under
# development (the platform's own localhost quickstart among them) often links placeholders
# such as http://example.com/legal, which the localhost flow accepted.
_PAGES_ONLY = frozenset({"legal_info_url"})


def _finding(code: str, where: str, message: str, fix: str, value: str | None = None) -> Finding:
    return Finding(RULES[code], where, message, fix, value)


def _urls(manifest: Manifest, spec_url: str | None) -> list[tuple[str, str]]:
    urls = [("logo_url", manifest.logo_url), ("legal_info_url", manifest.legal_info_url)]
    urls.append(("api.url", spec_url or manifest.api.url))
    if isinstance(manifest.auth, OAuthAuth):
        urls.append(("auth.client_url", manifest.auth.client_url))
        urls.append(("auth.authorization_url", manifest.auth.authorization_url))
    return [(where, url) for where, url in urls if url and not url.startswith("data:")]


def url_policy_findings(
    manifest: Manifest, spec_url: str | None, *, dev_mode: bool
) -> list[Finding]:
    """Every URL the host or the user's browser will load must be HTTPS on port 443 (spec §3)."""
    return url_findings(_urls(manifest, spec_url), dev_mode=dev_mode)


def url_findings(urls: list[tuple[str, str]], *, dev_mode: bool) -> list[Finding]:
    """PS203 for each (location, URL) that is not HTTPS on port 443 (dev mode: or localhost)."""
    found: list[Finding] = []
    for where, url in urls:
        parts = urlsplit(url)
        if not parts.scheme or not parts.netloc:
            continue  # relative or malformed: other rules speak about it
        local = host_of(url) in LOCAL_HOSTS
        if dev_mode and local:
            continue
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme != "https" or port not in (None, 443):
            why = "uses http" if parts.scheme != "https" else f"uses port {port}"
            hint = " (or run `powerstrip check --dev` for a local plugin)" if local else ""
            page_only = dev_mode and where in _PAGES_ONLY
            found.append(
                _finding(
                    "PS211" if page_only else "PS203",
                    where,
                    f"{where} {quote_value(url)!r} {why}; the platform only talks HTTPS on 443"
                    + (" (allowed in development mode, refused outside it)" if page_only else ""),
                    f"serve it over https on port 443{hint}",
                    url,
                )
            )
    return found


def domain_findings(
    manifest: Manifest, root: str, *, presumed: bool, spec_url: str | None
) -> list[Finding]:
    """The domain policy of spec §3: contact email, legal page, API and OAuth hosts."""
    found: list[Finding] = []
    site = registrable_domain(root)
    note = " (root presumed from api.url: the manifest was read from a file)" if presumed else ""
    email = manifest.contact_email
    if email and "@" in email and not same_registrable_domain(email_domain(email), root):
        found.append(
            _finding(
                "PS201",
                "contact_email",
                f"contact_email {email!r} is on {email_domain(email)!r}, not on the plugin's "
                f"domain {site!r}{note}",
                f"use an address at {site}, such as support@{site}",
                email,
            )
        )
    legal = manifest.legal_info_url
    legal_host = host_of(legal) if "://" in legal else ""
    if legal_host and not same_registrable_domain(legal_host, root):
        found.append(
            _finding(
                "PS202",
                "legal_info_url",
                f"legal_info_url is on {legal_host!r}, not on the plugin's domain {site!r}{note}",
                f"host the legal page on {site}",
                legal,
            )
        )
    api_host = host_of(spec_url or manifest.api.url)
    if api_host and not same_registrable_domain(api_host, root):
        found.append(
            _finding(
                "PS205",
                "api.url",
                f"api.url is on {api_host!r}, not on the plugin's domain {site!r}{note}",
                f"serve the OpenAPI document from {site}",
                spec_url or manifest.api.url,
            )
        )
    if isinstance(manifest.auth, OAuthAuth):
        for key in ("client_url", "authorization_url"):
            url = getattr(manifest.auth, key)
            host = host_of(url)
            if host and not same_registrable_domain(host, root):
                found.append(
                    _finding(
                        "PS206",
                        f"auth.{key}",
                        f"auth.{key} is on {host!r}, not on the plugin's domain {site!r}; "
                        "users will be sent to another site to sign in",
                        f"make sure users expect to sign in at {host}, or proxy it from {site}",
                        url,
                    )
                )
    return found


def steering_findings(texts: list[tuple[str, str]], *, code: str) -> list[Finding]:
    """A warning for every steering phrase in the given (location, text) pairs (spec §8)."""
    found: list[Finding] = []
    for where, text in texts:
        for match in find_steering(text):
            found.append(
                _finding(
                    code,
                    where,
                    f"{where} tries to steer the model ({match.label}): “{match.excerpt}”",
                    "describe what the API does and when it helps; leave the choice of tools "
                    "to the model and the user",
                    match.excerpt,
                )
            )
    return found
