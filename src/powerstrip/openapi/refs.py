"""Resolve local `$ref`s (`#/components/...`) inside one document."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from powerstrip.findings import location, quote_value
from powerstrip.openapi.finding_sink import FindingSink, at

__all__ = ["RefResolver", "ref_location"]

# A chain of `$ref`s to `$ref`s longer than this is a loop (a: {$ref: b}, b: {$ref: a}).
_MAX_HOPS = 32
_MISSING = object()


def _pointer_parts(ref: str) -> list[str]:
    """JSON-pointer parts of a local ref: `#/a~1b/c%20d` → ['a/b', 'c d']."""
    pointer = unquote(ref[1:])
    if not pointer:
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def ref_location(ref: str) -> str:
    """The readable location of a local ref's target: `spec.components.schemas.Pet`."""
    return location("spec", *_pointer_parts(ref))


class RefResolver:
    """Looks up `$ref` targets in one document, reporting bad refs once each."""

    def __init__(self, document: dict[str, Any], sink: FindingSink) -> None:
        self._document = document
        self._sink = sink
        self._cache: dict[str, Any] = {}

    def target(self, ref: object, where: str) -> tuple[Any, str] | None:
        """The raw target of one `$ref` value and its location; None (after a finding) if none."""
        if not isinstance(ref, str):
            self._sink.add(
                "PS308",
                where,
                f"$ref must be a string, found {quote_value(ref)!r}",
                "write the reference as a string such as '#/components/schemas/Name'",
                ref,
            )
            return None
        if not ref.startswith("#"):
            self._sink.add(
                "PS310",
                where,
                f"$ref {ref!r} points outside this document; Powerstrip resolves local refs only",
                "inline the referenced schema under #/components and point the $ref there",
                ref,
            )
            return None
        found = self._cache.get(ref, _MISSING)
        if found is _MISSING:
            found = self._walk(ref)
            self._cache[ref] = found
        if found is _MISSING:
            self._sink.add(
                "PS308",
                where,
                f"$ref {ref!r} points to nothing in this document",
                f"define {ref_location(ref)} or correct the reference",
                ref,
            )
            return None
        return found, ref_location(ref)

    def peek(self, ref: str) -> Any:
        """The target of a local ref without reporting anything; None when there is none."""
        found = self._cache.get(ref, _MISSING)
        if found is _MISSING:
            found = self._cache[ref] = self._walk(ref)
        return None if found is _MISSING else found

    def _walk(self, ref: str) -> Any:
        node: Any = self._document
        for part in _pointer_parts(ref):
            if isinstance(node, dict):
                if part in node:
                    node = node[part]
                elif part.isdigit() and int(part) in node:  # YAML turns `200:` into an int key
                    node = node[int(part)]
                else:
                    return _MISSING
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return _MISSING
        return node

    def deref(self, node: Any, where: str) -> tuple[Any, str]:
        """Follow `$ref` chains on a parameter, request body or path item.

        Returns the first non-ref node and its location; `({}, where)` when the chain breaks.
        """
        seen: set[str] = set()
        for _ in range(_MAX_HOPS):
            if not isinstance(node, dict) or "$ref" not in node:
                return node, where
            ref = node["$ref"]
            if isinstance(ref, str) and ref in seen:
                break
            if isinstance(ref, str):
                seen.add(ref)
            found = self.target(ref, at(where, "$ref"))
            if found is None:
                return {}, where
            node, where = found
        self._sink.add(
            "PS308",
            where,
            "a chain of $refs loops back on itself and never reaches a definition",
            "point one of the $refs at a real definition",
        )
        return {}, where
