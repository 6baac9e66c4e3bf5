"""The host's own addresses: never a destination of its outbound requests.

A plugin whose manifest points `api.url` (or a spec server, an OAuth URL) at the host itself
would make the host call its own API, from loopback and with the host's privileges. Every
outbound connection is checked against what the host knows of itself: its public origin (from
the settings) and each local address and port it has been reached at (learned by the server,
request by request, since only the server sees the sockets it accepts on).
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from powerstrip.net.address_guard import IPAddress, parse_host_literal

__all__ = ["OUTBOUND_HEADER", "OwnAddresses"]

OUTBOUND_HEADER = "x-powerstrip-outbound"
"""Set on every request the guarded client sends, so a host that receives one knows it came from
a host (itself, or another), never from a person at the keyboard."""


def _normalise(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


class OwnAddresses:
    """Origins and sockets the host serves on; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._origins: set[tuple[str, int]] = set()
        self._sockets: set[tuple[IPAddress, int]] = set()
        self._ports: set[int] = set()

    def add_origin(self, url: str) -> None:
        """Remember a public origin of the host (`https://host.example.org`); ignore junk."""
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return
        host = _normalise(parts.hostname or "")
        if not host:
            return
        with self._lock:
            self._origins.add((host, port))
        literal = parse_host_literal(host)
        if literal is not None:
            self.add_socket(literal, port)

    def add_socket(self, address: IPAddress, port: int) -> None:
        """Remember a local address and port the host accepted a connection on."""
        with self._lock:
            self._sockets.add((address, port))
            self._ports.add(port)

    def is_own_origin(self, host: str, port: int) -> bool:
        """Say whether `host:port` is one of the host's public origins."""
        with self._lock:
            return (_normalise(host), port) in self._origins

    def is_own_socket(self, address: IPAddress, port: int) -> bool:
        """Say whether connecting to `address:port` would reach the host itself.

        A loopback address on a port the host serves on counts too: a server bound to every
        interface answers there, whichever address it was first reached at.
        """
        with self._lock:
            if (address, port) in self._sockets:
                return True
            return address.is_loopback and port in self._ports
