"""Walk a parsed OpenAPI document as JSON: locations, local `$ref`s, what feeds a request.

The reference validator speaks in JSON paths (`('paths', '/x', 'get')`); findings speak in the
readable locations of `powerstrip.findings.location` (`spec.paths['/x'].get`). This module holds
the few walks both sides need, iteratively so a deep document cannot exhaust the stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from powerstrip.findings import location

__all__ = [
    "JsonPath",
    "LocalRef",
    "RequestReach",
    "iter_nodes",
    "iter_refs",
    "pointer_path",
    "resolve_pointer",
    "spec_location",
]

JsonPath = tuple[str | int, ...]

_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


def spec_location(path: JsonPath) -> str:
    """The readable location of a JSON path in the spec: `spec.paths['/x'].get.responses['200']`."""
    return location("spec", *path)


def iter_nodes(document: Any) -> Iterator[tuple[JsonPath, Any]]:
    """Every container (object or list) of a JSON document with its path, parents first."""
    stack: list[tuple[JsonPath, Any]] = [((), document)]
    while stack:
        path, node = stack.pop()
        yield path, node
        if isinstance(node, dict):
            children = [((*path, str(k)), v) for k, v in node.items()]
        elif isinstance(node, list):
            children = [((*path, i), v) for i, v in enumerate(node)]
        else:
            continue
        stack.extend(reversed([(p, v) for p, v in children if isinstance(v, dict | list)]))


@dataclass(frozen=True, slots=True)
class LocalRef:
    """A `$ref` string found in the document, at the path of the object that holds it."""

    holder: JsonPath
    ref: str


def iter_refs(document: Any) -> Iterator[LocalRef]:
    """Every string `$ref` of the document (local or not), in document order."""
    for path, node in iter_nodes(document):
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            yield LocalRef(path, node["$ref"])


def pointer_path(ref: str) -> JsonPath | None:
    """The JSON path a local ref names (`#/a~1b/c` → ('a/b', 'c')); None when not a pointer."""
    if not ref.startswith("#"):
        return None
    pointer = unquote(ref[1:])
    if not pointer:
        return ()
    if not pointer.startswith("/"):
        return None  # `#components/...` or a plain-name anchor: not a JSON pointer
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:])


def resolve_pointer(document: Any, path: JsonPath) -> Any:
    """The node at `path`; `KeyError` when the document has nothing there."""
    node = document
    for part in path:
        if isinstance(node, dict) and str(part) in node:
            node = node[str(part)]
        elif isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(part)
    return node


class RequestReach:
    """Which parts of a document shape a request: parameters, request bodies and their refs.

    A problem there changes what the model is asked to fill or what the host sends, so it is
    reported as an error; the same problem in a response only changes documentation.
    """

    def __init__(self, document: dict[str, Any]) -> None:
        self._roots: set[JsonPath] = set()
        paths = document.get("paths")
        if isinstance(paths, dict):
            for name, item in paths.items():
                if not isinstance(item, dict):
                    continue
                self._roots.add(("paths", str(name), "parameters"))
                for method, operation in item.items():
                    if str(method).lower() in _METHODS and isinstance(operation, dict):
                        for part in ("parameters", "requestBody"):
                            self._roots.add(("paths", str(name), str(method), part))
        self._follow_refs(document)

    def _follow_refs(self, document: dict[str, Any]) -> None:
        refs = [r for r in iter_refs(document) if self.contains(r.holder)]
        seen: set[JsonPath] = set()
        while refs:
            target = pointer_path(refs.pop().ref)
            if target is None or target in seen:
                continue
            seen.add(target)
            self._roots.add(target)
            try:
                node = resolve_pointer(document, target)
            except KeyError:
                continue
            refs.extend(LocalRef((*target, *r.holder), r.ref) for r in iter_refs(node))

    def contains(self, path: JsonPath) -> bool:
        """True when `path` lies in a parameter, a request body, or a schema one of them uses."""
        return any(path[: len(root)] == root for root in self._roots)
