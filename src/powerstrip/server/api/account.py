"""`/api/me`, `/api/grants` and `/api/mcp`: who you are, your "always allow" grants, and the
tools your MCP clients see (with the allowance of one that changes things)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from powerstrip.host import list_grants, revoke_grant
from powerstrip.server.deps import CurrentHost, CurrentUser
from powerstrip.server.input_types import GrantId

__all__ = ["router"]

router = APIRouter(tags=["account"])


@router.get("/me")
async def me(user: CurrentUser) -> Any:  # Any: JSON
    return {"id": user.id, "username": user.username, "is_admin": user.is_admin}


@router.get("/grants")
async def grants(host: CurrentHost, user: CurrentUser) -> Any:  # Any: JSON
    return {
        "grants": [
            {
                "id": grant.id,
                "plugin_id": grant.plugin_id,
                "plugin": grant.plugin_name,
                "operation_id": grant.operation_id,
                "created_at": grant.created_at.isoformat(),
                "expires_at": grant.expires_at.isoformat() if grant.expires_at else None,
            }
            for grant in await list_grants(host.sessions, user.id)
        ]
    }


@router.delete("/grants/{grant_id}", status_code=204)
async def revoke(grant_id: GrantId, host: CurrentHost, user: CurrentUser) -> Response:
    await revoke_grant(host.sessions, user.id, grant_id)
    return Response(status_code=204)


class McpAllowance(BaseModel):
    tool: str = Field(
        min_length=1, max_length=128, description="The tool's name, e.g. todo__addTodo."
    )


@router.get("/mcp/tools")
async def mcp_tools(host: CurrentHost, user: CurrentUser) -> Any:  # Any: JSON
    """The tools an MCP client of yours sees, with their hints."""
    return {
        "tools": [
            {
                "name": tool.name,
                "plugin_id": tool.plugin_id,
                "operation_id": tool.operation_id,
                "method": tool.method,
                "path": tool.path,
                "read_only": tool.hints.read_only,
                "destructive": tool.hints.destructive,
                "idempotent": tool.hints.idempotent,
                "needs_allowance": tool.needs_allowance,
            }
            for tool in await host.tool_calls.tools(user)
        ]
    }


@router.post("/mcp/allowed")
async def mcp_allow(body: McpAllowance, host: CurrentHost, user: CurrentUser) -> Any:  # Any: JSON
    """Let your MCP clients call a tool that changes things without asking (a grant)."""
    tool = await host.tool_calls.allow(user, body.tool)
    return {"tool": tool.name, "plugin_id": tool.plugin_id, "operation_id": tool.operation_id}
