"""Turn a tool call's arguments into the HTTP request the plugin's API expects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from powerstrip.openapi import Tool

__all__ = ["HOST_OWNED_HEADERS", "PluginRequest", "UnsafeArgumentError", "build_request"]

# Headers the host sets itself: a header parameter of the spec may never supply or shadow them.
HOST_OWNED_HEADERS = frozenset(
    {
        "host",
        "authorization",
        "cookie",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "accept-encoding",
        "proxy-authorization",
    }
)
_HOST_PREFIXES = ("openai-", "powerstrip-")


class UnsafeArgumentError(ValueError):
    """An argument would change which endpoint or headers the request reaches."""


@dataclass(frozen=True, slots=True)
class PluginRequest:
    """An API call ready to send: method, URL, query, headers and body."""

    method: str
    url: str
    params: dict[str, str | list[str]]
    headers: dict[str, str]
    body: bytes | None
    content_type: str | None
    # Any: the body as JSON values, for the (redacted) call record.
    body_json: Any = None


def _scalar(value: Any) -> str:  # Any: a JSON value the model wrote
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return "" if value is None else str(value)


def build_request(tool: Tool, arguments: dict[str, Any], base_url: str) -> PluginRequest:
    """The request for `tool` called with validated `arguments` against `base_url`."""
    path = tool.path
    params: dict[str, str | list[str]] = {}
    headers: dict[str, str] = {}
    body_fields: dict[str, Any] = {}
    body_value: Any = None
    for binding in tool.bindings:
        if binding.argument not in arguments:
            continue
        value = arguments[binding.argument]
        if binding.location == "path":
            text = _scalar(value)
            if text in ("", ".", ".."):
                # Servers normalise dot segments: `..` would reach another endpoint than the
                # one the user approved.
                raise UnsafeArgumentError(f"{binding.argument}: {text!r} is not a path value")
            # quote(safe=""): a value like "a/b" stays one path segment, never a traversal.
            path = path.replace("{" + binding.name + "}", quote(text, safe=""))
        elif binding.location == "query":
            if value is None:
                continue
            # Arrays use the OpenAPI default for queries: form style, exploded (?a=1&a=2).
            params[binding.name] = (
                [_scalar(v) for v in value] if isinstance(value, list) else _scalar(value)
            )
        elif binding.location == "header":
            lowered = binding.name.lower()
            if lowered in HOST_OWNED_HEADERS or lowered.startswith(_HOST_PREFIXES):
                continue
            headers[binding.name] = _scalar(value)
        elif tool.body_is_wrapped:
            body_value = value
        else:
            body_fields[binding.name] = value
    if not tool.body_is_wrapped and body_fields:
        body_value = body_fields
    body: bytes | None = None
    content_type: str | None = None
    if body_value is not None or (tool.body_media_type and tool.method in ("POST", "PUT", "PATCH")):
        media = tool.body_media_type or "application/json"
        if media == "application/x-www-form-urlencoded" and isinstance(body_value, dict):
            body = urlencode({k: _scalar(v) for k, v in body_value.items()}).encode()
            content_type = media
        else:
            body = json.dumps({} if body_value is None else body_value, ensure_ascii=False).encode()
            content_type = "application/json"
    url = base_url.rstrip("/") + path
    if params:
        url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
    return PluginRequest(
        method=tool.method,
        url=url,
        params=params,
        headers=headers,
        body=body,
        content_type=content_type,
        body_json=body_value,
    )
