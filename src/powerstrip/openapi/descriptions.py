"""Every human-written description and summary of a spec, for the steering-phrase check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from powerstrip.openapi.finding_sink import at

__all__ = ["iter_descriptions"]

_TEXT_KEYS = ("description", "summary")
# Values here are data (examples, defaults), not prose written for the reader or the model.
_DATA_KEYS = frozenset({"example", "examples", "default", "enum", "const"})


def iter_descriptions(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Yield `(location, text)` for every description/summary string in the document.

    Covers info, operations, parameters, request bodies, responses and schemas, as written
    (`$ref`s are not followed, so shared text is reported once, where it is written).
    """
    seen: set[int] = set()  # YAML aliases can make the tree a graph, even a cycle
    stack: list[tuple[Any, str]] = [(document, "spec")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            if id(node) in seen:
                continue
            seen.add(id(node))
            children = []
            for key, value in node.items():
                name = str(key)
                if name in _TEXT_KEYS and isinstance(value, str):
                    if value.strip():
                        yield at(where, name), value
                elif name not in _DATA_KEYS and isinstance(value, dict | list):
                    children.append((value, at(where, name)))
            stack.extend(reversed(children))
        elif isinstance(node, list):
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.extend(reversed([(v, at(where, i)) for i, v in enumerate(node)]))
