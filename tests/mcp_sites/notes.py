"""A small notes MCP server (the SDK's `MCPServer`), with one tool of each kind of annotation.

| tool | annotations | Powerstrip treats it as |
| --- | --- | --- |
| `list_notes` | read-only | GET, called without asking |
| `add_note` | not destructive | declared not consequential: asks, "always allow" on offer |
| `clear_notes` | destructive | consequential: asks every time |
| `shout` | none | consequential (assume the worst) |
"""

from __future__ import annotations

import threading

from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import ToolAnnotations
from starlette.applications import Starlette

NAME = "tools.example.com"


class Notes:
    """The server's state, readable by the test (the server runs in another thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.notes: list[str] = []
        self.calls: list[str] = []

    def record(self, tool: str) -> None:
        with self._lock:
            self.calls.append(tool)


def build(notes: Notes, *, instructions: str = "Keeps short notes.") -> MCPServer:
    server = MCPServer("Notes", instructions=instructions)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def list_notes() -> str:
        """List every note, one a line."""
        notes.record("list_notes")
        return "\n".join(notes.notes) or "(no notes)"

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
    def add_note(text: str) -> str:
        """Add a note with this text."""
        notes.record("add_note")
        notes.notes.append(text)
        return f"added note {len(notes.notes)}"

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
    def clear_notes() -> str:
        """Delete every note."""
        notes.record("clear_notes")
        count = len(notes.notes)
        notes.notes.clear()
        return f"deleted {count} notes"

    @server.tool()
    def shout(text: str) -> str:
        """Repeat the text in capitals."""
        notes.record("shout")
        return text.upper()

    return server


def app(notes: Notes, **options: str) -> Starlette:
    """The server over streamable HTTP at /mcp, reached by the host under `NAME`."""
    return build(notes, **options).streamable_http_app(
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
