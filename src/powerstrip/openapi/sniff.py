"""Recognise bodies that are not an OpenAPI document: pages, error bodies, empty bodies.

A spec URL that fails often still answers 200 with something else. Each check returns a finding
message that quotes the start of what came back, so the author sees the page or error at once.
"""

from __future__ import annotations

import re
from typing import Any

from powerstrip.openapi.finding_sink import quote_body

__all__ = ["sniff_parsed", "sniff_text"]

_HTML_START = re.compile(r"<(!doctype\s+html|html|head|body|title|!--|\?xml|h1|center|div)\b", re.I)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)

# Keys of the JSON error bodies that gateways and frameworks send (AWS, FastAPI, Vercel, ...).
_ERROR_KEYS = frozenset(
    {"message", "error", "errors", "detail", "msg", "code", "status", "statuscode", "trackingid"}
)
# Keys that only an OpenAPI (or Swagger) document has at its top level.
_SPEC_KEYS = frozenset({"paths", "info", "components", "servers", "webhooks", "swagger"})


def sniff_text(text: str) -> str | None:
    """Why the raw text is not a spec (empty, HTML), or None when it may be one."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        return f"the body is empty (seen: '{quote_body(text)}')"
    if stripped.startswith("<") and _HTML_START.match(stripped):
        title = _TITLE.search(stripped[:4096])
        named = f" titled {title.group(1).strip()!r}" if title else ""
        return f"the body is an HTML page{named}, not an OpenAPI document: '{quote_body(text)}'"
    return None


def sniff_parsed(value: Any, text: str) -> str | None:  # Any: any parsed JSON/YAML value
    """Why a parsed value is not a spec (scalar, list, error body), or None when it may be one."""
    quoted = f"'{quote_body(text)}'"
    if isinstance(value, str):
        return f"the body is plain text, not an OpenAPI document: {quoted}"
    if value is None or isinstance(value, int | float | bool):
        return f"the body is a bare value, not an OpenAPI document: {quoted}"
    if isinstance(value, list):
        return f"the body is a list, not an OpenAPI document: {quoted}"
    if not isinstance(value, dict):
        return f"the body is not an OpenAPI document: {quoted}"
    keys = {str(k).lower() for k in value}
    if keys & _SPEC_KEYS or any("openapi" in k or "swagger" in k for k in keys):
        return None
    if keys & _ERROR_KEYS:
        return f"the body is an error response, not an OpenAPI document: {quoted}"
    return f"the body is a JSON/YAML object without OpenAPI keys: {quoted}"
