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
        return yaml.load(text, Loader=_SpecLoader), "yaml"  # noqa: S506 - a SafeLoader subclass
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
