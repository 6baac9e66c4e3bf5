"""Hypothesis strategies for JSON values that fit a JSON Schema (draft 2020-12).

Values are drawn close to the schema (types, bounds, lengths, patterns, formats, required
properties), and the caller keeps only those a real validator accepts: keywords modelled roughly
here (`not`, the exclusivity of `oneOf`, `uniqueItems` of nested values, ...) cost a rejected
draw, never a value that does not fit. Each kind also offers boundary values first (`""`, `"."`,
`".."`, 0, -1, 2**31, 2**63, ...), since those are where a schema and an API part ways.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

__all__ = ["values_for"]

Schema = dict[str, Any]  # Any: JSON values
Strategy = st.SearchStrategy[Any]  # Any: JSON values

# Below this depth optional properties are left out and arrays are as short as allowed, so a
# deeply nested schema still gives small values.
_MAX_DEPTH = 5
_EXTRA_ITEMS = 2  # items drawn beyond minItems
_EDGE_STRINGS = ("", ".", "..", " ", "a/b", "../x", "?a=1&b#c", "%2F", "ü ✓", "x")
_EDGE_INTEGERS = (0, 1, -1, 2**31, -(2**31) - 1, 2**53, 2**63, -(2**63) - 1)
_EDGE_NUMBERS = (0.0, -1.5, 1e300)
_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
_FORMATS: dict[str, Strategy] = {
    "date": st.dates().map(dt.date.isoformat),
    "date-time": st.datetimes(timezones=st.just(dt.UTC)).map(dt.datetime.isoformat),
    "time": st.times().map(lambda t: t.isoformat() + "Z"),
    "email": st.emails(),
    "uuid": st.uuids().map(str),
    "ipv4": st.ip_addresses(v=4).map(str),
    "ipv6": st.ip_addresses(v=6).map(str),
    "uri": st.sampled_from(("https://example.com/", "https://example.com/a?b=c")),
    "url": st.sampled_from(("https://example.com/", "https://example.com/a?b=c")),
    "hostname": st.sampled_from(("example.com", "a.example.org")),
    "byte": st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode()),
}


def values_for(schema: Any) -> Strategy:
    """Values close to fitting `schema`; check each with a validator before use."""
    return _strategy(schema, 0)


def _strategy(schema: Any, depth: int) -> Strategy:
    if schema is True or schema == {}:
        return _any_json(depth)
    if not isinstance(schema, dict):
        return st.nothing()
    if "const" in schema:
        return st.just(schema["const"])
    if isinstance(schema.get("enum"), list):
        return st.sampled_from(schema["enum"]) if schema["enum"] else st.nothing()
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            rest = {k: v for k, v in schema.items() if k != key}
            return st.one_of([_strategy(_merge(rest, b), depth) for b in schema[key]])
    if isinstance(schema.get("allOf"), list):
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            merged = _merge(merged, part)
        return _strategy(merged, depth)
    return st.one_of([_BY_TYPE[kind](schema, depth) for kind in _types(schema)])


def _merge(base: Schema, part: Any) -> Schema:
    """One schema that roughly means both (the validator settles the rest)."""
    if not isinstance(part, dict):
        return base
    out = {**base, **part}
    if isinstance(base.get("properties"), dict) and isinstance(part.get("properties"), dict):
        properties = dict(base["properties"])
        for name, sub in part["properties"].items():
            properties[name] = _merge(properties[name], sub) if name in properties else sub
        out["properties"] = properties
    if isinstance(base.get("required"), list) and isinstance(part.get("required"), list):
        out["required"] = list(dict.fromkeys([*base["required"], *part["required"]]))
    if "type" in base and "type" in part:
        both = [t for t in _as_list(part["type"]) if t in _as_list(base["type"])]
        out["type"] = both or part["type"]
    return out


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _types(schema: Schema) -> list[str]:
    if "type" in schema:
        return [t for t in _as_list(schema["type"]) if t in _BY_TYPE]
    if {"properties", "required", "additionalProperties"} & schema.keys():
        return ["object"]
    if {"items", "prefixItems", "minItems", "maxItems"} & schema.keys():
        return ["array"]
    if schema.get("format") in ("int32", "int64"):
        return ["integer"]
    if {"minLength", "maxLength", "pattern", "format"} & schema.keys():
        return ["string"]
    if {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"} & schema.keys():
        return ["number"]
    return ["null", "boolean", "integer", "number", "string"]


def _any_json(depth: int) -> Strategy:
    scalars = st.none() | st.booleans() | st.integers() | _TEXT
    if depth >= _MAX_DEPTH:
        return scalars
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=2) | st.dictionaries(_TEXT, inner, max_size=2),
        max_leaves=4,
    )


def _string(schema: Schema, depth: int) -> Strategy:
    low = schema.get("minLength", 0)
    high = schema.get("maxLength")
    pattern = schema.get("pattern")
    base: Strategy
    if schema.get("format") in _FORMATS:
        base = _FORMATS[schema["format"]]
        if isinstance(pattern, str):  # both must hold: draw from each, the validator decides
            base = base | _from_regex(pattern)
    elif isinstance(pattern, str):
        base = _from_regex(pattern)
    else:
        base = st.sampled_from(_EDGE_STRINGS) | st.text(
            st.characters(codec="utf-8"), min_size=low, max_size=max(low, 12)
        )
    return base.filter(lambda s: len(s) >= low and (high is None or len(s) <= high))


def _from_regex(pattern: str) -> Strategy:
    try:
        return st.from_regex(pattern)
    except (InvalidArgument, re.error):
        return _TEXT


def _bounds(schema: Schema) -> tuple[Any, Any, bool, bool]:
    low, high = schema.get("minimum"), schema.get("maximum")
    exclusive_low = exclusive_high = False
    if isinstance(schema.get("exclusiveMinimum"), int | float):
        low, exclusive_low = schema["exclusiveMinimum"], True
    if isinstance(schema.get("exclusiveMaximum"), int | float):
        high, exclusive_high = schema["exclusiveMaximum"], True
    return low, high, exclusive_low, exclusive_high


def _in_bounds(schema: Schema, value: float) -> bool:
    low, high, exclusive_low, exclusive_high = _bounds(schema)
    if low is not None and (value < low or (exclusive_low and value == low)):
        return False
    return high is None or not (value > high or (exclusive_high and value == high))


def _integer(schema: Schema, depth: int) -> Strategy:
    low, high, exclusive_low, exclusive_high = _bounds(schema)
    lowest = None if low is None else math.ceil(low)
    if lowest is not None and exclusive_low and lowest == low:
        lowest += 1
    highest = None if high is None else math.floor(high)
    if highest is not None and exclusive_high and highest == high:
        highest -= 1
    if lowest is not None and highest is not None and lowest > highest:
        return st.nothing()
    edges = [v for v in _EDGE_INTEGERS if _in_bounds(schema, v)]
    drawn = st.integers(lowest, highest)
    return (st.sampled_from(edges) | drawn) if edges else drawn


def _number(schema: Schema, depth: int) -> Strategy:
    low, high, exclusive_low, exclusive_high = _bounds(schema)
    floats = st.floats(
        low,
        high,
        allow_nan=False,
        allow_infinity=False,
        exclude_min=exclusive_low and low is not None,
        exclude_max=exclusive_high and high is not None,
    )
    edges = [v for v in _EDGE_NUMBERS if _in_bounds(schema, v)]
    return st.sampled_from(edges) | _integer(schema, depth) | floats if edges else floats


def _array(schema: Schema, depth: int) -> Strategy:
    low = schema.get("minItems", 0)
    high = schema.get("maxItems")
    extra = 0 if depth >= _MAX_DEPTH else _EXTRA_ITEMS
    size = low + extra if high is None else min(high, low + extra)
    prefix = schema.get("prefixItems")
    items = _strategy(schema.get("items", True), depth + 1)
    unique = (lambda v: json.dumps(v, sort_keys=True)) if schema.get("uniqueItems") else None
    if isinstance(prefix, list) and prefix:
        head = st.tuples(*(_strategy(p, depth + 1) for p in prefix)).map(list)
        tail = st.lists(items, max_size=max(0, size - len(prefix)))
        return st.builds(lambda h, t: [*h, *t], head, tail)
    if high is not None and low > high:
        return st.nothing()
    return st.lists(items, min_size=low, max_size=size, unique_by=unique)


def _object(schema: Schema, depth: int) -> Strategy:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = [r for r in schema.get("required", []) if isinstance(r, str)]
    extra_schema = schema.get("additionalProperties", True)
    fixed = {name: _strategy(properties.get(name, extra_schema), depth + 1) for name in required}
    optional = (
        {}
        if depth >= _MAX_DEPTH
        else {n: _strategy(s, depth + 1) for n, s in properties.items() if n not in fixed}
    )
    drawn = st.fixed_dictionaries(fixed, optional=optional)
    if not isinstance(extra_schema, dict) or not extra_schema or depth >= _MAX_DEPTH:
        return drawn
    # A map (`additionalProperties: {schema}`): a few keys the schema does not name.
    names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=8).filter(
        lambda n: n not in properties
    )
    extras = st.dictionaries(names, _strategy(extra_schema, depth + 1), max_size=2)
    return st.builds(lambda d, e: {**e, **d}, drawn, extras)


_BY_TYPE = {
    "null": lambda schema, depth: st.none(),
    "boolean": lambda schema, depth: st.booleans(),
    "integer": _integer,
    "number": _number,
    "string": _string,
    "array": _array,
    "object": _object,
}
