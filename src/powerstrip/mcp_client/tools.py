"""An MCP server's tools as a Powerstrip tool set: what the model, the consent rules and the
call ledger work with, as for an OpenAPI plugin.

The consequential flag comes from the annotations, and missing ones mean "assume the worst"
(the platform's rule for undeclared operations, and MCP's own defaults: not read-only,
destructive):

| annotations | method | consequential | a chat |
| --- | --- | --- | --- |
| `readOnlyHint: true` | GET | no (undeclared) | calls it without asking |
| `destructiveHint: false` | POST | declared `false` | asks, "always allow" on offer |
| anything else, or none | POST | declared `true` | asks every time |

The method and the path `/tools/NAME` only name the operation for the ledger and the store's
operation list: the call itself is an MCP `tools/call`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from powerstrip.openapi import FunctionNamer, Tool, ToolSet

__all__ = ["consequential_of", "tools_document", "toolset_from_document"]

_DESCRIPTION_LIMIT = 8000


def consequential_of(annotations: object) -> tuple[str, bool, bool | None]:
    """(method, consequential, consequential_declared) for a tool's annotations."""
    hints = annotations if isinstance(annotations, dict) else {}
    if hints.get("readOnlyHint") is True:
        return "GET", False, None
    if hints.get("destructiveHint") is False:
        return "POST", False, False
    return "POST", True, True


def tools_document(tools: Sequence[dict[str, Any]]) -> str:
    """The stored form of a `tools/list` (the store's `spec_body` of an MCP plugin)."""
    return json.dumps({"mcp_tools": list(tools)}, sort_keys=True, ensure_ascii=False)


def _schema(value: object) -> dict[str, Any]:
    schema = dict(value) if isinstance(value, dict) else {}
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    return schema


def toolset_from_document(namespace: str, document: str, *, description: str = "") -> ToolSet:
    """The tool set of a stored `tools/list`; tools without a usable name are left out."""
    loaded = json.loads(document)
    raw = loaded.get("mcp_tools", []) if isinstance(loaded, dict) else []
    namer = FunctionNamer(namespace)
    tools: list[Tool] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        name: str = item["name"]
        function_name, _, _ = namer.name(name)
        method, consequential, declared = consequential_of(item.get("annotations"))
        text = str(item.get("description") or item.get("title") or name)
        tools.append(
            Tool(
                function_name=function_name,
                operation_id=name,
                method=method,
                path=f"/tools/{name}",
                summary=str(item.get("title") or name),
                description=text[:_DESCRIPTION_LIMIT],
                parameters=_schema(item.get("inputSchema")),
                bindings=(),
                body_media_type="application/json",
                body_is_wrapped=False,
                consequential=consequential,
                consequential_declared=declared,
                location=f"tools/{name}",
            )
        )
    return ToolSet(namespace=namespace, tools=tuple(tools), description=description)
