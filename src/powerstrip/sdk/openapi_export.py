"""The OpenAPI document a plugin serves: FastAPI's 3.1 output, or the same written as 3.0.1.

The original platform's plugins were mostly 3.0.x and some hosts still read only 3.0, so
`Plugin` serves 3.0.1 by default; 3.1.0 is FastAPI's document as it is.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

__all__ = ["ERROR_SCHEMA", "OpenAPIVersion", "export_openapi"]

OpenAPIVersion = Literal["3.0.1", "3.1.0"]

# The shape of every error a plugin built with the SDK returns (see sdk/errors.py).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "A stable, machine-readable code."},
                "message": {"type": "string", "description": "What went wrong, for a person."},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def export_openapi(
    document: dict[str, Any], *, base_url: str, version: OpenAPIVersion
) -> dict[str, Any]:
    """Our OpenAPI document from FastAPI's: servers, error responses, and the chosen version."""
    doc = copy.deepcopy(document)
    doc["servers"] = [{"url": base_url}]
    _use_our_error_shape(doc)
    if version == "3.0.1":
        doc = _to_30(doc)
        doc["openapi"] = "3.0.1"
    return doc


def _use_our_error_shape(doc: dict[str, Any]) -> None:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERRORS:
        schemas.pop(name, None)
    schemas["Error"] = copy.deepcopy(ERROR_SCHEMA)
    error = {
        "description": "An error, with a message that says what went wrong",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for item in doc.get("paths", {}).values():
        for method in _METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                responses["default"] = error


# Maps whose keys are names chosen by the author (a property may well be called `const`):
# their values are schemas or objects, but the maps themselves are not.
_NAME_MAPS = frozenset(
    {
        "properties",
        "patternProperties",
        "$defs",
        "schemas",
        "paths",
        "responses",
        "content",
        "headers",
        "securitySchemes",
        "examples",
        "links",
        "callbacks",
        "variables",
        "mapping",
    }
)


# Keywords whose values are data (defaults, examples, allowed values), never schemas.
_DATA_KEYWORDS = frozenset({"default", "example", "examples", "enum", "const"})
_NULL_FORMS = ({"type": "null"}, {"nullable": True})


def _to_30(node: Any, *, named: bool = False) -> Any:  # Any: arbitrary JSON
    if isinstance(node, list):
        return [_to_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    if named:
        return {key: _to_30(value) for key, value in node.items()}
    out = {
        key: value
        if key in _DATA_KEYWORDS or key.startswith("x-")
        else _to_30(value, named=key in _NAME_MAPS)
        for key, value in node.items()
    }
    out.pop("jsonSchemaDialect", None)
    out.pop("webhooks", None)
    any_of = out.get("anyOf")
    # Children are converted first: a `{"type": "null"}` member is `{"nullable": True}` by now.
    if isinstance(any_of, list) and any(s in _NULL_FORMS for s in any_of):
        rest = [s for s in any_of if s not in _NULL_FORMS]
        del out["anyOf"]
        if len(rest) == 1 and "$ref" not in rest[0]:
            out = {**rest[0], **out}
        elif len(rest) == 1:
            out["allOf"] = rest
        elif rest:
            out["anyOf"] = rest
        out["nullable"] = True
    kind = out.get("type")
    if isinstance(kind, list) or kind == "null":
        kinds = kind if isinstance(kind, list) else [kind]
        others = [t for t in kinds if t != "null"]
        if "null" in kinds:
            out["nullable"] = True
        if len(others) == 1:
            out["type"] = others[0]
        else:
            del out["type"]
            if others:
                out["anyOf"] = [{"type": t} for t in others]
    if "const" in out:
        out["enum"] = [out.pop("const")]
    examples = out.get("examples")
    if isinstance(examples, list) and "schema" not in out and "paths" not in out:
        # In a 3.0 Schema Object only a single `example` exists.
        out.pop("examples")
        if examples:
            out["example"] = examples[0]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = out.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[plain] = value
            out[bound] = True
    return out
