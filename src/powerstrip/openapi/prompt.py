"""The TypeScript-like `namespace NAME { ... }` rendering of a plugin, for models without tools."""

from __future__ import annotations

import json
from typing import Any

from powerstrip.openapi.model import Tool, ToolSet

__all__ = ["render_namespace_prompt"]

_SCALARS = {"string": "string", "number": "number", "integer": "number", "boolean": "boolean"}
# Nested object types deeper than this are rendered as `object`, to keep the prompt bounded.
_MAX_DEPTH = 4


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _key(name: str) -> str:
    """A property name as a TypeScript key: bare when it is an identifier, else quoted."""
    return name if name.isidentifier() else json.dumps(name, ensure_ascii=False)


def _literal(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _type(schema: Any, depth: int = 0) -> str:
    """A TypeScript type for a JSON Schema."""
    if not isinstance(schema, dict):
        return "any"
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return " | ".join(_literal(v) for v in schema["enum"])
    if "const" in schema:
        return _literal(schema["const"])
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return " | ".join(dict.fromkeys(_type(s, depth) for s in schema[key])) or "any"
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(dict.fromkeys(_type({**schema, "type": k}, depth) for k in kind))
    if kind == "null":
        return "null"
    if kind == "array":
        inner = _type(schema.get("items"), depth + 1)
        return f"({inner})[]" if " " in inner else f"{inner}[]"
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties")
        if not isinstance(properties, dict) or not properties or depth >= _MAX_DEPTH:
            return "object"
        required = set(schema.get("required", []))
        fields = ", ".join(
            f"{_key(name)}{'' if name in required else '?'}: {_type(prop, depth + 1)}"
            for name, prop in properties.items()
        )
        return f"{{ {fields} }}"
    return _SCALARS.get(str(kind), "any")


def _comment(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    parts = []
    if isinstance(schema.get("description"), str) and schema["description"].strip():
        parts.append(_one_line(schema["description"]))
    if "default" in schema:
        parts.append(f"default: {_literal(schema['default'])}")
    return f" // {' '.join(parts)}" if parts else ""


def _type_name(tool: Tool, namespace: str) -> str:
    return tool.function_name.removeprefix(f"{namespace}__") or tool.function_name


def _render_tool(tool: Tool, namespace: str) -> list[str]:
    lines = []
    comment = _one_line(tool.description or tool.summary)
    if comment:
        lines.append(f"// {comment}")
    properties = tool.parameters.get("properties") or {}
    name = _type_name(tool, namespace)
    if not properties:
        lines.append(f"type {name} = () => any;")
        return lines
    required = set(tool.parameters.get("required", []))
    lines.append(f"type {name} = (_: {{")
    for arg, schema in properties.items():
        optional = "" if arg in required else "?"
        lines.append(f"{_key(arg)}{optional}: {_type(schema)},{_comment(schema)}")
    lines.append("}) => any;")
    return lines


def render_namespace_prompt(toolset: ToolSet, description_for_model: str) -> str:
    """The plugin as the original platform showed it to the model: a TypeScript-like namespace.

    Deterministic: the same tool set and description always give the same text.
    """
    namespace = toolset.namespace
    lines = []
    if description_for_model.strip():
        lines.append(f"// {_one_line(description_for_model)}")
    lines.append(f"namespace {namespace} {{")
    lines.append("")
    for tool in toolset.tools:
        lines.extend(_render_tool(tool, namespace))
        lines.append("")
    lines.append(f"}} // namespace {namespace}")
    return "\n".join(lines) + "\n"
