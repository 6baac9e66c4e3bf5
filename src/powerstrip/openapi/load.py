"""Parse an OpenAPI document from text, whatever its extension or content type claims."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import yaml

from powerstrip.errors import SpecError
from powerstrip.openapi.finding_sink import FindingSink, quote_body
from powerstrip.openapi.model import LoadedSpec
from powerstrip.openapi.sniff import sniff_parsed, sniff_text
from powerstrip.openapi.version import sniff_version

__all__ = ["load_spec"]

Format = Literal["json", "yaml"]

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SpecLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that keeps dates and timestamps as the strings they were written as.

    JSON Schema (and JSON) has no date type: `default: 2023-01-01` must stay a string.
    """


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node)) if isinstance(node, yaml.ScalarNode) else ""


_SpecLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)

# libyaml's composer recurses in C: tens of thousands of nested `[` overflow the C stack and kill
# the process (the pure-Python loader is quadratic there instead). No real spec nests this deep.
_MAX_DEPTH = 1000
_BRACKETS = re.compile(r"[\[\]{}]")


def _too_deep(text: str) -> bool:
    if text.count("[") + text.count("{") < _MAX_DEPTH:
        return False
    depth = 0
    for match in _BRACKETS.finditer(text):
        depth += 1 if match[0] in "[{" else -1
        if depth > _MAX_DEPTH:
            return True
    return False


# YAML aliases are shared when parsed but expanded by everything that walks the document: nested
# anchors that each repeat the previous one ten times ("billion laughs") make a 1 KB spec cost
# minutes and gigabytes downstream. A real spec's aliases add a few nodes (the corpus: 4), so any
# document they grow by more than this is refused. Recursive aliases expand forever: refused too.
MAX_ALIAS_EXPANSION = 100_000
_SIZE_CAP = 1 << 62  # expanded sizes are clamped here so a deep bomb stays cheap arithmetic


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _alias_expansion(root: yaml.Node) -> int | None:
    """How many nodes alias expansion adds to a composed document; None when an alias recurses.

    Linear in the distinct nodes: each node's expanded size is computed once (iteratively, so a
    deep document cannot exhaust the Python stack).
    """
    sizes: dict[int, int] = {}
    ancestors: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            ancestors.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            sizes[key] = min(total, _SIZE_CAP)
        elif key in ancestors:
            return None
        elif key not in sizes:
            ancestors.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))
    return sizes[id(root)] - len(sizes)


def _load_yaml(text: str, sink: FindingSink) -> tuple[bool, Any]:
    """Compose, measure alias expansion, then construct; (False, None) after a PS301 finding."""
    loader = _SpecLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return True, None
        extra = _alias_expansion(node)
        if extra is None or extra > MAX_ALIAS_EXPANSION:
            what = (
                "a YAML alias refers to a node that contains it, so the document expands forever"
                if extra is None
                else f"the document's YAML aliases (*name) expand it by {extra:,} nodes, "
                f"more than the {MAX_ALIAS_EXPANSION:,} allowed (an alias bomb)"
            )
            sink.add(
                "PS301",
                "spec",
                what,
                "write the repeated schemas once under components/schemas and point at them "
                "with $ref instead of nesting YAML anchors and aliases",
            )
            return False, None
        return True, loader.construct_document(node)
    finally:
        loader.dispose()


def _declared_format(source: str, content_type: str | None) -> Format | None:
    if content_type:
        ct = content_type.lower()
        if "json" in ct:
            return "json"
        if "yaml" in ct or "yml" in ct:
            return "yaml"
    name = source.lower().split("?", 1)[0]
    if name.endswith(".json"):
        return "json"
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    return None


def _decode(data: str | bytes) -> str:
    if isinstance(data, str):
        return data
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def _parse(text: str, sink: FindingSink) -> tuple[Any, Format] | None:
    """Parse JSON first when the text looks like JSON, else YAML; None after a PS301 finding."""
    if _too_deep(text):
        sink.add(
            "PS301",
            "spec",
            f"the body nests brackets more than {_MAX_DEPTH} levels deep; "
            f"it starts: '{quote_body(text)}'",
            "serve the real OpenAPI document; no spec nests this deep",
        )
        return None
    json_error: str | None = None
    if text.lstrip("\ufeff \t\r\n")[:1] in ("{", "["):
        try:
            return json.loads(text.lstrip("\ufeff")), "json"
        except (ValueError, RecursionError) as exc:
            json_error = str(exc)
    try:
        # YAML 1.1 is nearly a superset of JSON, so JSON with small slips often still loads.
        loaded, value = _load_yaml(text, sink)
        return (value, "yaml") if loaded else None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        problem = str(exc).replace("\n", " ")
        detail = f"JSON: {json_error}; YAML: {problem}" if json_error else f"YAML: {problem}"
        sink.add(
            "PS301",
            "spec",
            f"the body is neither valid JSON nor valid YAML ({detail[:300]}); "
            f"it starts: '{quote_body(text)}'",
            "validate the file with a YAML or JSON linter and fix the syntax error",
        )
        return None


def _reject(sink: FindingSink, summary: str) -> SpecError:
    return SpecError(summary, findings=list(sink.errors()) or list(sink.findings), where="spec")


def load_spec(
    text: str | bytes, *, source: str = "openapi.yaml", content_type: str | None = None
) -> LoadedSpec:
    """Parse and sniff an OpenAPI document.

    Raises `SpecError` (with PS300/PS301/PS306 findings that quote the body) when the text is not
    an OpenAPI 3.0/3.1 document. Tolerated mistakes come back as findings on the `LoadedSpec`.
    """
    sink = FindingSink()
    body = _decode(text)
    why = sniff_text(body)
    if why is not None:
        sink.add("PS300", "spec", why, "point api.url at the OpenAPI document itself", body[:80])
        raise _reject(sink, f"not an OpenAPI document: {why}")
    parsed = _parse(body, sink)
    if parsed is None:
        raise _reject(sink, f"the spec could not be parsed: {sink.findings[0].message}")
    value, found = parsed
    why = sniff_parsed(value, body)
    if why is not None:
        sink.add("PS300", "spec", why, "point api.url at the OpenAPI document itself", body[:80])
        raise _reject(sink, f"not an OpenAPI document: {why}")
    declared = _declared_format(source, content_type)
    if declared is not None and declared != found:
        said = f"content type {content_type!r}" if content_type else f"name {source!r}"
        sink.add(
            "PS302",
            "spec",
            f"the spec is {found.upper()} but its {said} says {declared.upper()}",
            f"serve it with a matching extension and content type (application/{found})",
        )
    document: dict[str, Any] = value
    info = sniff_version(document, sink)
    if info is None:
        why = sink.errors()[0].message
        raise _reject(sink, f"unsupported document: {why}; it starts: '{quote_body(body)}'")
    # A shallow copy: the version is normalised without touching (or copying) the rest.
    normalised = {k: v for k, v in document.items() if k != info.key}
    normalised = {"openapi": info.version, **normalised}
    return LoadedSpec(
        document=normalised,
        version=info.version,
        major_minor=info.major_minor,
        source_format=found,
        findings=sink.findings,
    )
