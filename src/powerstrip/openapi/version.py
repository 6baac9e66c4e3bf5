"""Sniff and normalise the `openapi` version of a parsed document.

Real specs write `openapi: 3.0` (a number), `3.1.3` (no such version) or `openAPI:`; those are
unambiguous and tolerated with a warning. Swagger 2.0, other majors or no version are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from powerstrip.findings import quote_value
from powerstrip.openapi.finding_sink import FindingSink

__all__ = ["VersionInfo", "sniff_version"]

# Released versions of the specification (3.1.1 and 3.1.2 are later patch releases).
_KNOWN = {"3.0": {0, 1, 2, 3, 4}, "3.1": {0, 1, 2}}
_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
_SUPPORTED = "3.0.x or 3.1.x"


@dataclass(frozen=True, slots=True)
class VersionInfo:
    version: str
    major_minor: Literal["3.0", "3.1"]
    key: str  # the key the version was found under ("openapi", or a misspelling)


def _distance(a: str, b: str) -> int:
    """Levenshtein distance, small strings only."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _find_key(document: dict[str, Any], sink: FindingSink) -> str | None:
    if "openapi" in document:
        return "openapi"
    has_paths = isinstance(document.get("paths"), dict)
    for key in document:
        if not isinstance(key, str) or key == "swagger" or len(key) > 12:
            continue
        if _distance(key.lower(), "openapi") > 2:
            continue
        if has_paths and str(document[key]).strip().strip("\"'").startswith("3"):
            sink.add(
                "PS305",
                f"spec.{key}" if key.isidentifier() else f"spec[{key!r}]",
                f"the version key is spelt {key!r}; read as 'openapi'",
                "spell the key `openapi` (lower case)",
                key,
            )
            return key
    return None


def sniff_version(document: dict[str, Any], sink: FindingSink) -> VersionInfo | None:
    """The document's version, or None after recording a PS306 error in `sink`."""
    key = _find_key(document, sink)
    if key is None:
        if "swagger" in document:
            seen = quote_value(document["swagger"])
            sink.add(
                "PS306",
                "spec.swagger",
                f"the document is Swagger {seen}; Powerstrip reads OpenAPI {_SUPPORTED} only",
                "convert it to OpenAPI 3 (e.g. with swagger2openapi) and set `openapi: 3.0.3`",
                document["swagger"],
            )
        else:
            sink.add(
                "PS306",
                "spec.openapi",
                "the document has no `openapi` version key",
                "add `openapi: 3.0.3` (or `3.1.0`) at the top of the document",
            )
        return None
    where = "spec.openapi" if key == "openapi" else f"spec[{key!r}]"
    raw = document[key]
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        sink.add(
            "PS306",
            where,
            f"the openapi version is {quote_value(raw)!r}, not a version number",
            'write the version as a string, e.g. `openapi: "3.0.3"`',
            raw,
        )
        return None
    text = str(raw)
    if not isinstance(raw, str):
        sink.add(
            "PS303",
            where,
            f"the openapi version is the number {raw!r}, read as the string {text!r}",
            f'quote the full version: `openapi: "{text}.0"`'
            if text.count(".") == 1
            else f'quote the version: `openapi: "{text}"`',
            raw,
        )
    cleaned = text.strip().strip("\"'").strip().removeprefix("v").removeprefix("V")
    match = _VERSION.match(cleaned)
    if not match:
        sink.add(
            "PS306",
            where,
            f"the openapi version {text!r} is not a version number",
            'set `openapi: "3.0.3"` (or "3.1.0")',
            raw,
        )
        return None
    major, minor, patch = int(match[1]), int(match[2]), match[3]
    if major != 3:
        sink.add(
            "PS306",
            where,
            f"the document is OpenAPI {text!r}; Powerstrip reads OpenAPI {_SUPPORTED} only",
            'convert the document to OpenAPI 3 and set `openapi: "3.0.3"`',
            raw,
        )
        return None
    mm: Literal["3.0", "3.1"] = "3.0" if minor == 0 else "3.1"
    odd_text = cleaned != text and isinstance(raw, str)
    unknown = f"{major}.{minor}" not in _KNOWN or (
        patch is not None and int(patch) not in _KNOWN[f"{major}.{minor}"]
    )
    if odd_text and not unknown:
        sink.add(
            "PS304",
            where,
            f"the openapi version {text!r} has extra characters; read as {cleaned!r}",
            f'write the bare version: `openapi: "{cleaned}"`',
            raw,
        )
    elif unknown or odd_text or (patch is None and isinstance(raw, str)):
        sink.add(
            "PS304",
            where,
            f"the openapi version {text!r} is not a released OpenAPI version; read as {mm}",
            f"set `openapi` to a released version, e.g. `{mm}.0`",
            raw,
        )
    return VersionInfo(version=cleaned, major_minor=mm, key=key)
