"""`powerstrip check --mcp`: what an MCP server breaks, before it is added as a plugin.

The server is reached as the host would reach it (streamable HTTP through the guarded client,
or a local command), its `tools/list` is read, and each tool is held to the rules a plugin's
operations meet: a name MCP allows and no other tool has, an object input schema that is valid
JSON Schema, annotations (missing ones mean the host assumes the worst), a description that
describes and does not steer the model (spec §8). The report lists each tool as the model will
see it, with the consequential flag its annotations give it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from powerstrip.check.report import CheckReport, ToolSummary
from powerstrip.check.rules import steering_findings
from powerstrip.errors import NetError
from powerstrip.findings import RULES, Finding
from powerstrip.mcp_client import McpServerInfo, McpTarget, list_tools, toolset_from_document
from powerstrip.mcp_client import tools_document as stored_tools
from powerstrip.net import GuardedClient

__all__ = ["check_listed", "check_mcp_server", "mcp_findings", "mcp_namespace"]

# MCP's tool names: 1 to 128 of these characters (the specification's SHOULD, which clients
# and Powerstrip's own function names rely on).
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_NAMESPACE_CHARS = re.compile(r"[^A-Za-z0-9_]+")


def _finding(code: str, where: str, message: str, fix: str, value: str | None = None) -> Finding:
    return Finding(RULES[code], where, message, fix, value)


def mcp_namespace(info: McpServerInfo, fallback: str = "mcp") -> str:
    """The `name_for_model` an MCP server gets: its name, reduced to what function names allow."""
    name = _NAMESPACE_CHARS.sub("_", info.name).strip("_").lower()[:40]
    return name or fallback


def mcp_findings(info: McpServerInfo) -> list[Finding]:
    """Every rule the server's tool list breaks, then how each tool will be treated."""
    found: list[Finding] = []
    if not info.tools:
        found.append(
            _finding(
                "PS501",
                "tools/list",
                "the server lists no tools: there is nothing to offer the model",
                "register at least one tool on the server",
            )
        )
    seen: set[str] = set()
    texts: list[tuple[str, str]] = []
    if info.instructions:
        texts.append(("instructions", info.instructions))
    for index, tool in enumerate(info.tools):
        name = tool.get("name")
        where = f"tools[{index}]" if not isinstance(name, str) else f"tools.{name}"
        found += _tool_findings(tool, where, seen)
        for key in ("description", "title"):
            text = tool.get(key)
            if isinstance(text, str) and text:
                texts.append((f"{where}.{key}", text))
    found += steering_findings(texts, code="PS508")
    return found


def _tool_findings(tool: dict[str, Any], where: str, seen: set[str]) -> list[Finding]:
    found: list[Finding] = []
    name = tool.get("name")
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        found.append(
            _finding(
                "PS502",
                where,
                f"the tool name {name!r} is not 1 to 128 letters, digits, `_`, `.` or `-`",
                "rename the tool with those characters only",
                str(name)[:80],
            )
        )
    elif name in seen:
        found.append(
            _finding(
                "PS503",
                where,
                f"another tool is also named {name!r}: the model could not tell them apart",
                "give each tool its own name",
                name,
            )
        )
    if isinstance(name, str):
        seen.add(name)
    schema = tool.get("inputSchema")
    problem = _schema_problem(schema)
    if problem is not None:
        found.append(
            _finding(
                "PS504",
                f"{where}.inputSchema",
                f"the input schema {problem}",
                'give the tool an object schema: {"type": "object", "properties": {...}}',
            )
        )
    annotations = tool.get("annotations")
    hints = annotations if isinstance(annotations, dict) else {}
    if not any(key.endswith("Hint") for key in hints):
        found.append(
            _finding(
                "PS505",
                f"{where}.annotations",
                "the tool has no readOnlyHint or destructiveHint: the host assumes it may "
                "destroy things and asks the user before every call",
                "annotate the tool (readOnlyHint: true for a tool that only reads, "
                "destructiveHint: false for one that only adds)",
            )
        )
    elif hints.get("readOnlyHint") is True and hints.get("destructiveHint") is True:
        found.append(
            _finding(
                "PS506",
                f"{where}.annotations",
                "readOnlyHint and destructiveHint are both true; the host takes it as read-only",
                "drop destructiveHint from a tool that only reads, or readOnlyHint from one "
                "that destroys",
            )
        )
    if not str(tool.get("description") or "").strip():
        found.append(
            _finding(
                "PS507",
                f"{where}.description",
                "the tool has no description: the model sees only its name",
                "describe what the tool does and when it helps",
            )
        )
    return found


def _schema_problem(schema: object) -> str | None:
    if not isinstance(schema, dict):
        return "is missing or not a JSON object"
    if schema.get("type") != "object":
        return f"has type {schema.get('type')!r}, not 'object'"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return f"is not valid JSON Schema ({exc.message[:120]})"
    return None


def _treatment(tools: Sequence[ToolSummary]) -> list[Finding]:
    found: list[Finding] = []
    for tool in tools:
        how = (
            "is called without asking (read-only)"
            if not tool.consequential and tool.consequential_declared is None
            else "asks the user, with always-allow on offer (additive)"
            if not tool.consequential
            else "asks the user before every call (destructive or not annotated)"
        )
        found.append(
            _finding(
                "PS509",
                f"tools.{tool.path.removeprefix('/tools/')}",
                f"{tool.function_name} {how}",
                "annotate the tool to change how it is treated",
            )
        )
    return found


async def check_mcp_server(
    target: McpTarget, client: GuardedClient, *, headers: Mapping[str, str] | None = None
) -> tuple[CheckReport, McpServerInfo | None]:
    """The report on one MCP server, and what it said about itself (None: it could not be read).

    `headers` go with the listing (a key, for a server that lists only for its users).
    """
    report = CheckReport(target=target.name, api_base_url=target.url)
    try:
        info = await list_tools(client, target, headers=headers)
    except NetError as exc:
        report.add(
            [
                _finding(
                    "PS500",
                    target.name,
                    f"the MCP server could not be listed: {exc.message}",
                    exc.fix or "check the URL or command",
                )
            ]
        )
        return report, None
    return check_listed(target, info), info


def check_listed(target: McpTarget, info: McpServerInfo) -> CheckReport:
    """The report on a tool list already read from the server."""
    report = CheckReport(target=target.name, api_base_url=target.url)
    report.add(mcp_findings(info))
    namespace = mcp_namespace(info)
    toolset = toolset_from_document(namespace, stored_tools(info.tools))
    report.tools = [ToolSummary.from_tool(tool) for tool in toolset.tools]
    report.add(_treatment(report.tools))
    return report
