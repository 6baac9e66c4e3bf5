"""The spec's `servers` as URL strings, server variables filled with their defaults."""

from __future__ import annotations

import re
from typing import Any

from powerstrip.findings import quote_value
from powerstrip.openapi.finding_sink import FindingSink, at

__all__ = ["read_servers"]

_VARIABLE = re.compile(r"\{([^{}]*)\}")
_URL = re.compile(r"^(https?://[^\s/?#]+[^\s]*|/[^\s]*|\.{0,2}/?[^\s:]*)$", re.I)
_FIX = "write `servers: [{url: https://api.example.com}]` with an absolute https URL"


def _substitute(url: str, variables: Any, where: str, sink: FindingSink) -> str | None:
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        spec = variables.get(match[1]) if isinstance(variables, dict) else None
        default = spec.get("default") if isinstance(spec, dict) else None
        if isinstance(default, str | int | float) and not isinstance(default, bool):
            return str(default)
        missing.append(match[1])
        return match[0]

    filled = _VARIABLE.sub(fill, url)
    if missing:
        sink.add(
            "PS324",
            at(where, "url"),
            f"server URL {url!r} uses variable(s) {', '.join(missing)} without a default",
            "declare each variable under `variables` with a `default`",
            url,
        )
        return None
    return filled


def read_servers(document: dict[str, Any], sink: FindingSink) -> tuple[str, ...]:
    """The server URLs in order; PS324 for malformed entries, PS319 when there are none."""
    raw = document.get("servers")
    urls: list[str] = []
    if raw is not None and not isinstance(raw, list):
        sink.add("PS324", "spec.servers", "`servers` must be a list", _FIX, raw)
        raw = None
    for index, server in enumerate(raw or []):
        where = at("spec.servers", index)
        url = server.get("url") if isinstance(server, dict) else None
        if not isinstance(url, str) or not url.strip():
            sink.add(
                "PS324",
                where,
                f"a server needs a `url` string, found {quote_value(server)!r}",
                _FIX,
                server,
            )
            continue
        filled = _substitute(url.strip(), server.get("variables"), where, sink)
        if filled is None:
            continue
        if not _URL.match(filled):
            sink.add(
                "PS324",
                at(where, "url"),
                f"server URL {url!r} is neither an http(s) URL nor a relative path",
                _FIX,
                url,
            )
            continue
        urls.append(filled)
    if not urls:
        sink.add(
            "PS319",
            "spec.servers",
            "the spec names no servers; the host calls the host that served the spec",
            "add `servers: [{url: https://api.example.com}]`",
        )
    return tuple(urls)
