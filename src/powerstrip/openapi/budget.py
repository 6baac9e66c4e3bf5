"""Keep a tool's parameters schema to a bounded size, however its `$ref`s fan out.

The cleaner shares each resolved `$ref`, so the schema is small in memory, but every consumer
(JSON serialisation for the model, jsonschema) sees it expanded: ten properties that each refer
to the previous schema, six levels deep, is a 3 KB spec and a 30 MB tool. The schema is measured
level by level (each distinct dict once, with how often it occurs), and when it passes the budget
the deepest levels are replaced by a placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CUT_SCHEMA", "MAX_SCHEMA_NODES", "Fitted", "fit_schema"]

Schema = dict[str, Any]  # Any: JSON values

# JSON values (objects, arrays, scalars) in one tool's parameters schema after `$ref` inlining.
# The largest tool in the real corpus has about 1,500; 20,000 is still a schema a model can read,
# while the `$ref` fan-out above it grows tenfold per level into megabytes sent every turn.
MAX_SCHEMA_NODES = 20_000
CUT_SCHEMA: Schema = {"type": "object", "description": "(schema too large; cut)"}
_CUT_NODES = 3  # the dict and its two strings
_ONE_SCHEMA = ("items", "additionalProperties", "not")
_SCHEMA_LISTS = ("prefixItems", "allOf", "anyOf", "oneOf")


@dataclass(frozen=True, slots=True)
class Fitted:
    schema: Schema
    cut_depth: int | None  # None when the schema fitted as it was


def _child_schemas(schema: Schema) -> list[Schema]:
    children: list[Schema] = []
    properties = schema.get("properties")
    if isinstance(properties, dict):
        children.extend(v for v in properties.values() if isinstance(v, dict))
    children.extend(schema[k] for k in _ONE_SCHEMA if isinstance(schema.get(k), dict))
    for key in _SCHEMA_LISTS:
        parts = schema.get(key)
        if isinstance(parts, list):
            children.extend(p for p in parts if isinstance(p, dict))
    return children


def _value_nodes(value: Any, limit: int) -> int:
    """JSON values in `value`, counted up to just past `limit`."""
    count, stack = 0, [value]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def _own_nodes(schema: Schema, limit: int) -> int:
    """JSON values of one schema dict, not counting the child schemas (counted at their level)."""
    count = 1
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            count += 1 + sum(1 for v in value.values() if not isinstance(v, dict))
        elif key in _ONE_SCHEMA and isinstance(value, dict):
            continue
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            count += 1 + sum(1 for v in value if not isinstance(v, dict))
        else:
            count += _value_nodes(value, limit)
    return count


@dataclass(slots=True)
class _Level:
    before: int  # nodes in all shallower levels
    kept: int  # nodes of this level's schemas, whole
    cut: int  # nodes of this level when every schema with children becomes the placeholder


def _levels(schema: Schema, budget: int) -> list[_Level] | None:
    """Per-depth node counts up to the first level that passes the budget; None if it fits."""
    levels: list[_Level] = []
    total = 0
    current: dict[int, tuple[Schema, int]] = {id(schema): (schema, 1)}
    while current:
        level = _Level(total, 0, 0)
        following: dict[int, tuple[Schema, int]] = {}
        for node, times in current.values():
            own = _own_nodes(node, budget) * times
            children = _child_schemas(node)
            level.kept += own
            level.cut += _CUT_NODES * times if children else own
            for child in children:
                _, seen = following.get(id(child), (child, 0))
                following[id(child)] = (child, seen + times)
        levels.append(level)
        total += level.kept
        if total > budget:
            return levels
        current = following
    return None


def _copy_to(schema: Schema, depth: int, cut_at: int) -> Schema:
    children = _child_schemas(schema)
    if depth == cut_at and children:
        return dict(CUT_SCHEMA)
    if not children:
        return schema
    out = dict(schema)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {
            k: _copy_to(v, depth + 1, cut_at) if isinstance(v, dict) else v
            for k, v in out["properties"].items()
        }
    for key in _ONE_SCHEMA:
        if isinstance(out.get(key), dict):
            out[key] = _copy_to(out[key], depth + 1, cut_at)
    for key in _SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [
                _copy_to(v, depth + 1, cut_at) if isinstance(v, dict) else v for v in out[key]
            ]
    return out


def fit_schema(schema: Schema, budget: int = MAX_SCHEMA_NODES) -> Fitted:
    """`schema` itself when it fits the budget, else a copy cut at the deepest level that fits.

    Never mutates `schema` (its parts are shared with other tools).
    """
    levels = _levels(schema, budget)
    if levels is None:
        return Fitted(schema, None)
    depth = len(levels) - 1
    while depth > 0 and levels[depth].before + levels[depth].cut > budget:
        depth -= 1
    if depth == 0 and levels[0].cut > budget:
        return Fitted(dict(CUT_SCHEMA), 0)
    return Fitted(_copy_to(schema, 0, depth), depth)
