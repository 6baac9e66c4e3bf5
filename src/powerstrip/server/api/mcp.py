"""`/api/mcp`: the tools your MCP clients see, the allowance of a consequential one, the MCP
clients you connected with OAuth, and MCP servers added to the plugin store.

The MCP server itself is `/mcp` (`powerstrip.mcp`); these routes are for people and scripts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from powerstrip.server.deps import CurrentHost, CurrentUser
from powerstrip.server.errors import error_responses
from powerstrip.server.input_types import MAX_ROW_ID, Text

__all__ = ["router"]

router = APIRouter(prefix="/mcp", tags=["mcp"])

ConnectionId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A connected MCP client's id.")]


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


class AddMcpServer(BaseModel):
    url: Text | None = Field(
        default=None, description="The MCP server's streamable-HTTP endpoint (https://.../mcp)."
    )
    command: list[Text] = Field(
        default_factory=list,
        max_length=64,
        description="Admins, with POWERSTRIP_MCP_ALLOW_COMMANDS: a local command (stdio) to run.",
    )
    user_key: bool = Field(
        default=False, description="Each user installs it with their own key (sent as bearer)."
    )
    service_key: Text | None = Field(
        default=None,
        max_length=4096,
        description="Admins: one key for every user's calls (sent as bearer), sealed in the vault.",
    )
    oauth: bool = Field(
        default=False,
        description="Each user signs in at the server's authorization server (MCP "
        "authorization); a server that answers 401 without a key is taken to use it.",
    )


class McpClientOut(BaseModel):
    id: int = Field(description="The connection's id, to disconnect it.")
    client_id: str
    client_name: str = Field(description="What the client calls itself (not checked).")
    redirect_hosts: list[str] = Field(description="Where its sign-ins go back to.")
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None


class McpClientList(BaseModel):
    clients: list[McpClientOut]


class McpAllowed(BaseModel):
    tool: str
    plugin_id: int
    operation_id: str


class McpServerAdded(BaseModel):
    id: int
    name_for_model: str
    manifest_url: str = Field(description="The server's URL (or its command, as mcp+stdio:...).")
    auth_type: str
    verified: bool


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


@router.get("/clients")
async def mcp_clients(host: CurrentHost, user: CurrentUser) -> McpClientList:
    """The MCP clients you allowed to act as you over MCP (OAuth), newest first."""
    return McpClientList(
        clients=[
            McpClientOut(
                id=client.id,
                client_id=client.client_id,
                client_name=client.client_name,
                redirect_hosts=list(client.redirect_hosts),
                scopes=list(client.scopes),
                created_at=client.created_at,
                last_used_at=client.last_used_at,
            )
            for client in await host.mcp_oauth.connections(user)
        ]
    )


@router.delete("/clients/{connection_id}", status_code=204)
async def disconnect_mcp_client(
    connection_id: ConnectionId, host: CurrentHost, user: CurrentUser
) -> Response:
    """Disconnect an MCP client: its access and refresh tokens stop working at once."""
    await host.mcp_oauth.disconnect(user, connection_id)
    return Response(status_code=204)


@router.post("/servers", status_code=201, responses=error_responses(403))
async def add_mcp_server(
    body: AddMcpServer, host: CurrentHost, user: CurrentUser
) -> McpServerAdded:
    """Add an MCP server to the plugin store (its tools are checked first); install it as usual."""
    added = await host.mcp_servers.add(
        user,
        url=body.url,
        command=body.command,
        user_key=body.user_key,
        service_key=body.service_key,
        oauth=body.oauth,
    )
    return McpServerAdded(
        id=added.id,
        name_for_model=added.name_for_model,
        manifest_url=added.manifest_url,
        auth_type=added.auth_type,
        verified=added.verified,
    )
