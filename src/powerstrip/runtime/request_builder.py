"""Turn a tool call's arguments into the HTTP request the plugin's API expects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from powerstrip.openapi import Tool, path_template_problem

__all__ = [
    "HOST_OWNED_HEADERS",
    "PluginRequest",
    "UnsafeArgumentError",
    "build_request",
    "join_under",
]

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


def _sendable(argument: str, text: str) -> str:
    """`text` unchanged when it can be encoded as UTF-8 (a lone surrogate cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UnsafeArgumentError(
            f"{argument}: the value has an unpaired surrogate at position {exc.start}, "
            "which is not valid Unicode text"
        ) from None
    return text


def _header_value(argument: str, text: str) -> str:
    """`text` when it is a valid HTTP header value: printable ASCII (RFC 9110), no CR or LF."""
    for position, char in enumerate(text):
        if not (char == "\t" or " " <= char <= "~"):
            what = "a control character" if ord(char) < 0x80 else f"the non-ASCII {char!r}"
            raise UnsafeArgumentError(
                f"{argument}: a header value must be printable ASCII; it has {what} "
                f"at position {position}"
            )
    return text


def join_under(base_url: str, path: str) -> str:
    """`base_url` with `path` (already encoded) added under its own path; nothing else changes.

    Plain concatenation or `urljoin` would let a path choose the host (`.evil/x`, `@evil/x`,
    `//evil/x`); here the scheme and authority come from the base alone, and the result is
    checked to still have them.
    """
    problem = path_template_problem(path)
    if problem is not None:
        raise UnsafeArgumentError(f"the operation's path {path!r} {problem}")
    base = urlsplit(base_url)
    route, _, query = path.partition("?")
    url = urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + route, query, ""))
    joined = urlsplit(url)
    if (joined.scheme, joined.netloc) != (base.scheme, base.netloc):
        raise UnsafeArgumentError(f"the operation's path {path!r} would leave {base_url}")
    return url


def build_request(tool: Tool, arguments: dict[str, Any], base_url: str) -> PluginRequest:
    """The request for `tool` called with validated `arguments` against `base_url`.

    Raises `UnsafeArgumentError` when the path or a value would reach another endpoint than
    the operation's, or cannot be sent at all (a lone surrogate, a non-ASCII header value).
    """
    problem = path_template_problem(tool.path)
    if problem is not None:
        raise UnsafeArgumentError(f"the operation's path {tool.path!r} {problem}")
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
            text = _sendable(binding.argument, _scalar(value))
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
                [_sendable(binding.argument, _scalar(v)) for v in value]
                if isinstance(value, list)
                else _sendable(binding.argument, _scalar(value))
            )
        elif binding.location == "header":
            lowered = binding.name.lower()
            if lowered in HOST_OWNED_HEADERS or lowered.startswith(_HOST_PREFIXES):
                continue
            headers[binding.name] = _header_value(binding.argument, _scalar(value))
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
        try:
            if media == "application/x-www-form-urlencoded" and isinstance(body_value, dict):
                body = urlencode({k: _scalar(v) for k, v in body_value.items()}).encode()
                content_type = media
            else:
                document = {} if body_value is None else body_value
                body = json.dumps(document, ensure_ascii=False).encode()
                content_type = "application/json"
        except UnicodeEncodeError as exc:
            raise UnsafeArgumentError(
                f"the request body has an unpaired surrogate at position {exc.start}, "
                "which is not valid Unicode text"
            ) from None
    url = join_under(base_url, path)
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
