"""`/api/mcp`: the tools your MCP clients see, and the allowance of a consequential one.

The MCP server itself is `/mcp` (`powerstrip.mcp`); these routes are for people and scripts.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from powerstrip.server.deps import CurrentHost, CurrentUser
from powerstrip.server.input_types import Text

__all__ = ["router"]

router = APIRouter(prefix="/mcp", tags=["mcp"])


class McpToolOut(BaseModel):
    name: str = Field(description="The tool's name, as MCP clients call it.")
    plugin_id: int
    operation_id: str
    method: str
    path: str
    read_only: bool = Field(description="readOnlyHint")
    destructive: bool = Field(description="destructiveHint")
    idempotent: bool = Field(description="idempotentHint")
    needs_allowance: bool = Field(
        description="Consequential: refused until allowed (or confirmed when asked)."
    )


class McpToolList(BaseModel):
    tools: list[McpToolOut]


class McpAllowance(BaseModel):
    tool: Text = Field(max_length=128, description="The tool's name, e.g. todo__delete_todo.")


class McpAllowed(BaseModel):
    tool: str
    plugin_id: int
    operation_id: str


@router.get("/tools")
async def mcp_tools(host: CurrentHost, user: CurrentUser) -> McpToolList:
    """The tools an MCP client of yours sees, with their hints."""
    return McpToolList(
        tools=[
            McpToolOut(
                name=tool.name,
                plugin_id=tool.plugin_id,
                operation_id=tool.operation_id,
                method=tool.method,
                path=tool.path,
                read_only=tool.hints.read_only,
                destructive=tool.hints.destructive,
                idempotent=tool.hints.idempotent,
                needs_allowance=tool.needs_allowance,
            )
            for tool in await host.tool_calls.tools(user)
        ]
    )


@router.post("/allowed")
async def mcp_allow(body: McpAllowance, host: CurrentHost, user: CurrentUser) -> McpAllowed:
    """Let your MCP clients call a consequential tool without being refused (a grant)."""
    tool = await host.tool_calls.allow(user, body.tool)
    return McpAllowed(tool=tool.name, plugin_id=tool.plugin_id, operation_id=tool.operation_id)
