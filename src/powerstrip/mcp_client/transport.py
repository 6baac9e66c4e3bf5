"""The MCP SDK's HTTP client, sending every request through Powerstrip's guarded client.

The SDK speaks HTTP with `httpx2`; this transport hands each request to `GuardedClient.request`
(address guard, TLS policy, domain and origin rules, no redirects, size cap, time budget) and
gives the SDK the fully read answer. The standalone GET stream for server notifications is
answered 405 here, as a server without one would: a plugin call needs only the answers to its
own requests, and a stream held open would outlive the call. A 401 is kept (`unauthorized`,
its `WWW-Authenticate` challenge): the SDK turns it into an anonymous error, and the caller
needs to know the credential was refused (to refresh it, or to discover the server's OAuth).
"""

from __future__ import annotations

import httpx2

from powerstrip.net import GuardedClient

__all__ = ["GuardedMcpTransport"]

# Set by the guarded client itself (the connection, the body's framing, identity encoding).
_HOP_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}
)


class GuardedMcpTransport(httpx2.AsyncBaseTransport):
    """An `httpx2` transport over a `GuardedClient`, on behalf of `origin`."""

    def __init__(self, client: GuardedClient, *, origin: str, timeout: float) -> None:
        self.client = client
        self.origin = origin
        self.timeout = timeout
        # The `WWW-Authenticate` of the last 401 answer ("" when it had none), else None.
        self.unauthorized: str | None = None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET":
            return httpx2.Response(405, request=request)
        body = await request.aread()
        response = await self.client.request(
            request.method,
            str(request.url),
            headers={
                name: value
                for name, value in request.headers.items()
                if name.lower() not in _HOP_HEADERS
            },
            content=body or None,
            timeout=self.timeout,
            origin=self.origin,
        )
        if response.status_code == 401:
            self.unauthorized = response.headers.get("www-authenticate", "")
        return httpx2.Response(
            response.status_code,
            headers=list(response.headers.multi_items()),
            content=response.content,
            request=request,
        )
