"""Turn OpenAPI schema objects into plain JSON Schema (draft 2020-12) for the model.

`$ref`s are inlined (memoised per target), recursion is cut at the cycle, OpenAPI-only keywords
are dropped, 3.0 `nullable` becomes a `null` type, and malformed pieces become PS323 warnings.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from powerstrip.findings import quote_value
from powerstrip.openapi.budget import CUT_SCHEMA, MAX_SCHEMA_NODES
from powerstrip.openapi.finding_sink import FindingSink, at
from powerstrip.openapi.refs import RefResolver

__all__ = ["SchemaCleaner"]

Schema = dict[str, Any]  # Any: JSON values

# The JSON Schema type names, in the order a message lists them.
JSON_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")
_TYPES = frozenset(JSON_TYPES)
# Types authors write that mean a JSON Schema type unambiguously.
TYPE_ALIASES = {
    "text": "string",
    "str": "string",
    "date": "string",
    "datetime": "string",
    "int": "integer",
    "long": "integer",
    "float": "number",
    "double": "number",
    "decimal": "number",
    "bool": "boolean",
    "list": "array",
    "dict": "object",
    "map": "object",
    "json": "object",
}
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_NON_NEGATIVE_INTS = (
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
)
_NUMBERS = ("minimum", "maximum")
_INTEGER_FORMATS = {"int32": 32, "int64": 64}
_STRINGS = ("format", "description", "title")
# Deeper than this is either machine-made or an alias bomb; the model gains nothing from it.
_MAX_DEPTH = 40
_MALFORMED_FIX = "make the schema a valid OpenAPI Schema Object"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class SchemaCleaner:
    """Cleans the schemas of one document; memoises each resolved `$ref` target."""

    def __init__(
        self, resolver: RefResolver, sink: FindingSink, major_minor: Literal["3.0", "3.1"]
    ) -> None:
        self._resolver = resolver
        self._sink = sink
        self._nullable = major_minor == "3.0"
        self._memo: dict[str, Schema] = {}
        self._stack: dict[str, int] = {}  # ref → depth at which it is being expanded
        self._lowest_cut = 1 << 30
        self._visited = 0  # schema objects walked by the current clean()

    def clean(self, node: Any, where: str) -> Schema:
        """The JSON Schema for one schema object (a new or shared dict: do not mutate it)."""
        self._visited, self._lowest_cut = 0, 1 << 30
        result = self._clean(node, where, 0)
        if self._visited > MAX_SCHEMA_NODES:
            self._sink.add(
                "PS326",
                where,
                f"the schema expands to more than {MAX_SCHEMA_NODES:,} schema objects while its "
                "$refs are inlined (a recursive $ref reached many times); the model sees it cut",
                "flatten the schema: fewer objects that $ref the same recursive schema many times",
            )
        return result if isinstance(result, dict) else {} if result else {"not": {}}

    def is_read_only(self, node: Any) -> bool:
        """Whether a (possibly referenced) property schema is `readOnly: true`."""
        for _ in range(8):
            if not isinstance(node, dict):
                return False
            ref = node.get("$ref")
            if not isinstance(ref, str) or not ref.startswith("#"):
                return node.get("readOnly") is True
            node = self._resolver.peek(ref)  # quiet: clean() reports bad refs
        return False

    def _malformed(self, where: str, message: str, value: object = None) -> None:
        self._sink.add("PS323", where, message, _MALFORMED_FIX, value)

    def _clean(self, node: Any, where: str, depth: int) -> Schema | bool:
        if isinstance(node, bool):  # `true`/`false` are schemas in 3.1 and JSON Schema
            return node
        # Memoised $refs are walked once, but results cut at a cycle are not memoised, so a
        # recursive $ref with fan-out is walked exponentially often: bound the walk.
        self._visited += 1
        if self._visited > MAX_SCHEMA_NODES:
            self._lowest_cut = -1  # the result is incomplete: memoise nothing above it
            return dict(CUT_SCHEMA)
        if not isinstance(node, dict):
            self._malformed(
                where,
                f"a schema must be an object, found {type(node).__name__} {quote_value(node)!r}",
                node,
            )
            return {}
        if depth > _MAX_DEPTH:
            self._malformed(where, f"the schema nests deeper than {_MAX_DEPTH} levels; cut there")
            return {}
        if "$ref" in node:
            return self._clean_ref(node, where, depth)
        return self._clean_object(node, where, depth)

    def _clean_ref(self, node: Schema, where: str, depth: int) -> Schema | bool:
        ref = node["$ref"]
        found = self._resolver.target(ref, at(where, "$ref"))
        if found is None:
            result: Schema | bool = {}
        elif ref in self._memo:
            result = self._memo[ref]
        elif ref in self._stack:
            self._lowest_cut = min(self._lowest_cut, self._stack[ref])
            name = str(ref).rsplit("/", 1)[-1]
            self._sink.add(
                "PS309",
                found[1],
                f"the schema {name!r} refers to itself; the model sees it cut at the cycle",
                "nothing to do: recursive schemas are fine, the model sees one level less",
            )
            return {"type": "object", "description": f"(recursive: {name})"}
        else:
            target, target_where = found
            level = len(self._stack)
            self._stack[ref] = level
            saved, self._lowest_cut = self._lowest_cut, 1 << 30
            try:
                result = self._clean(target, target_where, depth + 1)
            finally:
                del self._stack[ref]
            # A result cut at an enclosing ref depends on where it was reached from: not memoised.
            if self._lowest_cut >= level and isinstance(result, dict):
                self._memo[ref] = result
            self._lowest_cut = min(saved, self._lowest_cut)
        # 3.1 allows siblings of $ref; a description beside it is worth keeping for the model.
        description = node.get("description")
        if isinstance(description, str) and isinstance(result, dict):
            result = {**result, "description": description}
        return result

    def _clean_object(self, node: Schema, where: str, depth: int) -> Schema:
        out: Schema = {}
        self._clean_type(node, where, out)
        for key in _STRINGS:
            if key in node:
                if isinstance(node[key], str):
                    out[key] = node[key]
                else:
                    self._malformed(at(where, key), f"{key} must be a string", node[key])
        for key in _NUMBERS:
            if key in node:
                if _is_number(node[key]):
                    out[key] = node[key]
                else:
                    self._malformed(at(where, key), f"{key} must be a number", node[key])
        for key in _NON_NEGATIVE_INTS:
            value = node.get(key)
            if key in node:
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                    out[key] = value
                else:
                    self._malformed(at(where, key), f"{key} must be a non-negative integer", value)
        self._clean_scalars(node, where, out)
        _bound_by_format(out)
        self._clean_children(node, where, depth, out)
        if self._nullable and node.get("nullable") is True:
            self._add_null(out)
        return out

    def _clean_type(self, node: Schema, where: str, out: Schema) -> None:
        if "type" not in node:
            return
        raw = node["type"]
        names = raw if isinstance(raw, list) else [raw]
        kept: list[str] = []
        for name in names:
            if isinstance(name, str) and name in _TYPES:
                kept.append(name)
            elif isinstance(name, str) and name.lower() in _TYPES | TYPE_ALIASES.keys():
                fixed = TYPE_ALIASES.get(name.lower(), name.lower())
                self._malformed(
                    at(where, "type"), f"type {name!r} is not a JSON Schema type; read as {fixed!r}"
                )
                kept.append(fixed)
            else:
                self._malformed(
                    at(where, "type"),
                    f"type {quote_value(name)!r} is not a JSON Schema type; ignored",
                    name,
                )
        kept = list(dict.fromkeys(kept))
        if kept:
            out["type"] = kept[0] if len(kept) == 1 else kept

    def _clean_scalars(self, node: Schema, where: str, out: Schema) -> None:
        for key in ("default", "const"):
            if key in node:
                out[key] = node[key]
        if "enum" in node:
            if isinstance(node["enum"], list):
                out["enum"] = node["enum"]
            else:
                self._malformed(at(where, "enum"), "enum must be a list", node["enum"])
        if isinstance(node.get("examples"), list):
            out["examples"] = node["examples"]
        if "multipleOf" in node:
            value = node["multipleOf"]
            if _is_number(value) and value > 0:
                out["multipleOf"] = value
            else:
                self._malformed(at(where, "multipleOf"), "multipleOf must be > 0", value)
        if isinstance(node.get("uniqueItems"), bool):
            out["uniqueItems"] = node["uniqueItems"]
        for key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            value = node.get(key)
            if _is_number(value):
                out[key] = value
            elif value is True and bound in out:  # 3.0 style: a flag on minimum/maximum
                out[key] = out.pop(bound)
        if "pattern" in node:
            pattern = node["pattern"]
            try:
                if not isinstance(pattern, str):
                    raise TypeError(pattern)
                re.compile(pattern)
                out["pattern"] = pattern
            except (re.error, TypeError, ValueError, OverflowError, RecursionError):
                self._malformed(
                    at(where, "pattern"), "pattern is not a valid regular expression", pattern
                )

    def _clean_children(self, node: Schema, where: str, depth: int, out: Schema) -> None:
        required, read_only = self._clean_properties(node, where, depth, out)
        raw_required = node.get("required")
        if isinstance(raw_required, list):
            required.extend(r for r in raw_required if isinstance(r, str))
        elif raw_required is not None and not isinstance(raw_required, bool):
            self._malformed(at(where, "required"), "required must be a list of names", raw_required)
        # bool `required` was handled by the parent (a property written `required: true`).
        required = [r for r in required if r not in read_only]
        if required:
            out["required"] = list(dict.fromkeys(required))
        if "items" in node:
            items = node["items"]
            if isinstance(items, list):  # draft-4 tuple form
                out["prefixItems"] = [
                    self._clean(x, at(where, "items", i), depth + 1) for i, x in enumerate(items)
                ]
            else:
                out["items"] = self._clean(items, at(where, "items"), depth + 1)
        extra = node.get("additionalProperties")
        if isinstance(extra, bool):
            out["additionalProperties"] = extra
        elif isinstance(extra, dict):
            out["additionalProperties"] = self._clean(
                extra, at(where, "additionalProperties"), depth + 1
            )
        for key in _SCHEMA_LISTS:
            if key not in node:
                continue
            parts = node[key]
            if isinstance(parts, list) and parts:
                out[key] = [
                    self._clean(x, at(where, key, i), depth + 1) for i, x in enumerate(parts)
                ]
            else:
                self._malformed(at(where, key), f"{key} must be a non-empty list of schemas", parts)
        if "not" in node:
            out["not"] = self._clean(node["not"], at(where, "not"), depth + 1)

    def _clean_properties(
        self, node: Schema, where: str, depth: int, out: Schema
    ) -> tuple[list[str], set[str]]:
        """Clean `properties` into `out`.

        Returns the names marked `required: true` on the property itself, and the names of the
        readOnly properties left out.
        """
        lifted: list[str] = []
        read_only: set[str] = set()
        if "properties" not in node:
            return lifted, read_only
        raw = node["properties"]
        if not isinstance(raw, dict):
            self._malformed(at(where, "properties"), "properties must be an object", raw)
            return lifted, read_only
        props: Schema = {}
        for key, value in raw.items():
            name = str(key)
            prop_where = at(where, "properties", name)
            if self.is_read_only(value):  # the server sets these; a request must not carry them
                read_only.add(name)
                continue
            if isinstance(value, dict) and isinstance(value.get("required"), bool):
                self._malformed(
                    at(prop_where, "required"),
                    f"`required: {str(value['required']).lower()}` on property {name!r}; "
                    "required is a list on the parent object",
                )
                if value["required"]:
                    lifted.append(name)
            props[name] = self._clean(value, prop_where, depth + 1)
        out["properties"] = props
        return lifted, read_only

    @staticmethod
    def _add_null(out: Schema) -> None:
        # OpenAPI 3.0.3 settles what 3.0 meant: `nullable` adds null to an explicit `type` only,
        # and other keywords keep their meaning, so an `enum` without null still refuses it.
        kind = out.get("type")
        if isinstance(kind, str) and kind != "null":
            out["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            out["type"] = [*kind, "null"]


def _bound_by_format(out: Schema) -> None:
    """Turn `format: int32`/`int64` into the bounds they mean (JSON Schema only annotates them).

    The spec's own validator asserts these formats, so an unbounded integer the model may send
    would be refused by the plugin. A tighter bound the author wrote is kept.
    """
    bits = _INTEGER_FORMATS.get(str(out.get("format")))
    if bits is None:
        return
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    minimum, maximum = out.get("minimum"), out.get("maximum")
    out["minimum"] = low if minimum is None or minimum < low else minimum
    out["maximum"] = high if maximum is None or maximum > high else maximum
