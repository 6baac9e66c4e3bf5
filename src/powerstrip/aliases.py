"""Type aliases every layer shares, so each shape is spelled once.

`JSONValue` is `Any` on purpose: JSON parsed from manifests, specs, models and requests is
checked by schema at the edges, and a recursive alias would make every reader narrow by hand
what the schema already proved. `ASGIApp` is the ASGI callable; its messages are free-form
dicts by specification.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeAlias

__all__ = ["ASGIApp", "ASGIMessage", "JSONObject", "JSONValue"]

JSONValue: TypeAlias = Any
JSONObject: TypeAlias = dict[str, JSONValue]

ASGIMessage: TypeAlias = MutableMapping[str, Any]
ASGIApp: TypeAlias = Callable[
    [
        MutableMapping[str, Any],
        Callable[[], Awaitable[ASGIMessage]],
        Callable[[ASGIMessage], Awaitable[None]],
    ],
    Awaitable[None],
]
