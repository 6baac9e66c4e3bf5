"""A plugin served by a bare TLS socket server, so it can misbehave below HTTP's level.

uvicorn always answers properly; this server reads a request and then does what the path
says: `/hang` never answers, `/reset` resets the connection (RST), `/truncated` declares more
body than it sends, `/not-json` says JSON and sends something else, `/html` answers with a web
page. Every answer closes its connection.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from collections.abc import Callable

NAME = "raw.example.com"
KINDS = ("hang", "reset", "truncated", "not-json", "html")

_MANIFEST = f"""{{
  "schema_version": "v1", "name_for_human": "Raw", "name_for_model": "raw",
  "description_for_human": "A plugin that breaks HTTP, for tests.",
  "description_for_model": "Fetch a thing in the given way.",
  "auth": {{"type": "none"}},
  "api": {{"type": "openapi", "url": "https://{NAME}/openapi.yaml"}},
  "logo_url": "https://{NAME}/logo.png", "contact_email": "support@example.com",
  "legal_info_url": "https://{NAME}/legal"
}}"""
_SPEC = f"""openapi: 3.0.1
info: {{title: Raw, version: v1}}
servers: [{{url: 'https://{NAME}'}}]
paths:
  /things/{{kind}}:
    get:
      operationId: thing
      parameters:
        - {{name: kind, in: path, required: true, schema: {{type: string}}}}
      responses: {{"200": {{description: OK}}}}
"""


def _answer(status: str, media_type: str, body: bytes, *, length: int | None = None) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {media_type}\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class RawSite:
    """The server on 127.0.0.1 at `port`; `start()`, then `stop()`."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port: int = self._listener.getsockname()[1]
        self.hits: dict[str, int] = {}
        self._stopping = threading.Event()
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        threading.Thread(target=self._accept, daemon=True, name="raw-site").start()

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()
        with self._lock:
            for sock in self._open:
                sock.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            sock = self._context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        with self._lock:
            self._open.append(sock)
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                request += chunk
            path = request.split(b" ", 2)[1].decode()
            self._respond(sock, path)
        except OSError:
            pass
        finally:
            sock.close()

    def _respond(self, sock: ssl.SSLSocket, path: str) -> None:
        routes: dict[str, Callable[[], None]] = {
            "/.well-known/ai-plugin.json": lambda: sock.sendall(
                _answer("200 OK", "application/json", _MANIFEST.encode())
            ),
            "/openapi.yaml": lambda: sock.sendall(
                _answer("200 OK", "application/yaml", _SPEC.encode())
            ),
        }
        if path in routes:
            routes[path]()
            return
        kind = path.rsplit("/", 1)[-1]
        with self._lock:
            self.hits[kind] = self.hits.get(kind, 0) + 1
        if kind == "hang":
            self._stopping.wait(30)  # longer than the host's call timeout
        elif kind == "reset":
            # Linger on, timeout 0: close() sends RST instead of FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif kind == "truncated":
            sock.sendall(_answer("200 OK", "application/json", b'{"items": [1, 2', length=4000))
        elif kind == "not-json":
            sock.sendall(_answer("200 OK", "application/json", b"{this is not json\x00\xff"))
        elif kind == "html":
            sock.sendall(_answer("200 OK", "text/html", b"<html><body>Oops</body></html>"))
        else:
            sock.sendall(_answer("200 OK", "application/json", b'{"ok": true}'))
