"""Where an MCP server is: a streamable-HTTP URL, or (admins only) a local command."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["COMMAND_SCHEME", "McpTarget"]

# The store names a command server by this pseudo-URL (`manifest_url` is unique per plugin).
COMMAND_SCHEME = "mcp+stdio:"


@dataclass(frozen=True, slots=True)
class McpTarget:
    """One MCP server: `url` (streamable HTTP) or `command` (argv of a stdio server)."""

    url: str | None = None
    command: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.url is None) == (not self.command):
            raise ValueError("an MCP target is a URL or a command, exactly one of them")

    @property
    def is_command(self) -> bool:
        return self.url is None

    @property
    def name(self) -> str:
        """How the store names it: the URL, or the command as a pseudo-URL."""
        return self.url if self.url is not None else COMMAND_SCHEME + " ".join(self.command)

    @property
    def host(self) -> str:
        """The host the server runs on (`localhost` for a command)."""
        return (urlsplit(self.url).hostname or "") if self.url is not None else "localhost"

    def to_json(self) -> dict[str, Any]:  # Any: JSON values
        if self.url is not None:
            return {"transport": "streamable-http", "url": self.url}
        return {"transport": "stdio", "command": list(self.command)}

    @classmethod
    def from_json(cls, value: object) -> McpTarget | None:
        """The target a stored manifest's `x-powerstrip-mcp` names, or None for an API plugin."""
        if not isinstance(value, dict):
            return None
        if value.get("transport") == "stdio":
            command = value.get("command")
            if isinstance(command, list) and command and all(isinstance(c, str) for c in command):
                return cls(command=tuple(command))
            return None
        url = value.get("url")
        return cls(url=url) if isinstance(url, str) and url else None
