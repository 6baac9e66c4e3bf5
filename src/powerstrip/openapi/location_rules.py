"""What a parameter's place in the request can carry, written into its schema for the model.

A value can fit a parameter's own schema and still not make a request the spec accepts: OpenAPI's
`allowEmptyValue` is false by default, so `?q=` is refused; a path segment `.` or `..` is
resolved away by servers (the request builder refuses them, and sends null as ""); a null query
value or an empty array is not sent at all, so a required one would be missing. The tool schema
says so, and the model is told before it calls, instead of the plugin answering 400 after.
"""

from __future__ import annotations

from typing import Any

__all__ = ["constrain_parameter"]

Schema = dict[str, Any]  # Any: JSON values

_NOT_PATH_VALUES = (None, "", ".", "..")


def constrain_parameter(schema: Schema, *, place: str, required: bool, allow_empty: bool) -> Schema:
    """`schema` narrowed to the values the parameter's place carries (a new dict when changed).

    `schema` may be shared with other tools (memoised `$ref` targets): it is never mutated.
    """
    if place == "path":
        return _without(schema, _NOT_PATH_VALUES)
    if place != "query":
        return schema
    refused: tuple[Any, ...] = () if allow_empty else ("",)
    if required:
        refused = (None, *refused)
        if _types(schema) == ["array"] and not schema.get("minItems"):
            schema = {**schema, "minItems": 1}
    return _without(schema, refused) if refused else schema


def _types(schema: Schema) -> list[Any] | None:
    kind = schema.get("type")
    if kind is None:
        return None
    return list(kind) if isinstance(kind, list) else [kind]


def _without(schema: Schema, refused: tuple[Any, ...]) -> Schema:
    """`schema` that no longer fits any of the `refused` values (None or strings)."""
    if isinstance(schema.get("enum"), list):
        kept = [v for v in schema["enum"] if not _among(v, refused)]
        return schema if len(kept) == len(schema["enum"]) else {**schema, "enum": kept}
    if "const" in schema:  # one value: if it is refused, the spec contradicts itself
        return schema
    out = dict(schema)
    left = list(refused)
    types = _types(out)
    if types is not None:
        # Values of a type the schema does not allow are refused already.
        left = [v for v in left if ("null" if v is None else "string") in types]
        if None in left and len(types) > 1:
            kept_types = [t for t in types if t != "null"]
            out["type"] = kept_types[0] if len(kept_types) == 1 else kept_types
            left.remove(None)
            types = kept_types
        if "" in left and types == ["string"]:
            # minLength reads better to a model than `not`.
            out["minLength"] = max(1, out.get("minLength", 0))
            left.remove("")
    if not left:
        return out
    refusal = {"not": {"enum": left}}
    if "not" in out:
        out["allOf"] = [*out.get("allOf", []), refusal]
    else:
        out.update(refusal)
    return out


def _among(value: Any, refused: tuple[Any, ...]) -> bool:
    # By type as well as value: `0 == False`, but neither is refused when "" or null is.
    return any(type(value) is type(r) and value == r for r in refused)
