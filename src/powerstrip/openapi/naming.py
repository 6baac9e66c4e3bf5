"""Function names the model sees: `NAMEFORMODEL__OPERATION`, ≤ 64 chars of `[A-Za-z0-9_-]`."""

from __future__ import annotations

import hashlib
import re

__all__ = [
    "MAX_NAME",
    "FunctionNamer",
    "derive_operation_name",
    "namespace_key",
    "namespaces_clash",
    "sanitise",
]

MAX_NAME = 64
_HASH_CHARS = 8
_INVALID = re.compile(r"[^A-Za-z0-9_-]+")
_PARAM = re.compile(r"^\{(.+)\}$")


def sanitise(text: str) -> str:
    """Replace every run of characters outside `[A-Za-z0-9_-]` with one `_`."""
    return _INVALID.sub("_", text).strip("_")


def namespace_key(name_for_model: str) -> str:
    """The namespace a `name_for_model` gives its functions, case-folded for comparison."""
    return (sanitise(name_for_model) or "plugin").casefold()


def namespaces_clash(first: str, second: str) -> bool:
    """Whether two plugins' function names could collide or be mistaken for each other.

    Equal namespaces (ignoring case and the characters `sanitise` replaces) collide outright;
    `todo` and `todo__x` can too, since `todo__x__op` is also `todo`'s function `x__op`.
    """
    a, b = namespace_key(first), namespace_key(second)
    return a == b or a.startswith(b + "__") or b.startswith(a + "__")


def derive_operation_name(method: str, path: str) -> str:
    """A name for an operation without operationId.

    `GET /todos/{username}` → `get_todos_by_username`.
    """
    words = [method.lower()]
    for segment in path.split("/"):
        if not segment:
            continue
        match = _PARAM.match(segment)
        words.append(f"by_{match[1]}" if match else segment)
    return sanitise("_".join(words)) or method.lower()


def shorten(name: str) -> str:
    """Fit a name into 64 characters: a prefix, `_`, and 8 hex chars of the full name's hash."""
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_CHARS]
    return f"{name[: MAX_NAME - _HASH_CHARS - 1]}_{digest}"


class FunctionNamer:
    """Hands out unique function names within one namespace."""

    def __init__(self, namespace: str) -> None:
        self.namespace = sanitise(namespace) or "plugin"
        self._used: set[str] = set()

    def name(self, operation: str) -> tuple[str, str, bool]:
        """The unique function name for an operation name.

        Returns (function name, the operation part before shortening, whether it was shortened).
        A clash gets `_2`, `_3`, ... on the operation part, so names stay readable and unique.
        """
        base = sanitise(operation) or "operation"
        candidate = base
        counter = 1
        while True:
            full = f"{self.namespace}__{candidate}"
            final = shorten(full)
            if final not in self._used:
                self._used.add(final)
                return final, candidate, final != full
            counter += 1
            candidate = f"{base}_{counter}"
