"""Powerstrip as an MCP server (the official `mcp` SDK): an edge like the REST API and the CLI.

Each operation of the acting user's installed plugins is an MCP tool, with annotations from its
method and `x-openai-isConsequential`; their documents are MCP resources. `powerstrip mcp serve`
serves one user over stdio; the server's `/mcp` serves every user over streamable HTTP, each by
their API token or the access token an MCP client got by signing in with OAuth (the host is
the authorization server: `powerstrip.mcp.oauth`). Everything goes through the host's services
(`host.tool_calls`, the document list), so an MCP call is checked, limited and recorded like a
chat's.
"""

from powerstrip.mcp.http import MCP_USER_KEY, McpEndpoint
from powerstrip.mcp.oauth import HostProvider, McpAuthServer, mcp_auth_routes, resource_metadata_url
from powerstrip.mcp.server import DOCUMENT_URI_PREFIX, UserResolver, build_server, tool_annotations
from powerstrip.mcp.stdio import serve_stdio

__all__ = [
    "DOCUMENT_URI_PREFIX",
    "MCP_USER_KEY",
    "HostProvider",
    "McpAuthServer",
    "McpEndpoint",
    "UserResolver",
    "build_server",
    "mcp_auth_routes",
    "resource_metadata_url",
    "serve_stdio",
    "tool_annotations",
]
