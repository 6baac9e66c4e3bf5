"""What one call to an MCP server used as a plugin costs the host, over an SDK client's call.

Both reach the same MCP server (the SDK's `MCPServer`, streamable HTTP over TLS on loopback):
the direct path is one `mcp.Client` session kept open, calling the tool again and again; the
host path is `Executor.execute` with an MCP target, as a chat's call runs it: argument
validation, a new MCP connection through the guarded client (its checks on every request),
`tools/call`, truncation and the redacted record. A new connection per call is the host's
choice (no state between calls, any process may make the next one); this measures its price.
Run: `.venv/bin/python bench/mcp_calls.py [CALLS]`.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import ToolAnnotations

from powerstrip.mcp_client import McpTarget, tools_document, toolset_from_document
from powerstrip.net import GuardedClient
from powerstrip.runtime import CallRequest, Executor
from powerstrip.testing import LoopbackServer, TestCA, loopback_policy

NAME = "tools.example.com"


def build() -> MCPServer:
    server = MCPServer("bench")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def echo(text: str) -> str:
        """Echo the text."""
        return text

    return server


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure(calls: int, server: LoopbackServer, ca: TestCA, ca_file: Path) -> None:
    document = tools_document(
        [{"name": "echo", "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}}]
    )
    tool = toolset_from_document("bench", document).lookup("bench__echo")
    policy = loopback_policy(server, [NAME], ca_bundle=ca_file)
    request = CallRequest(base_url="", mcp=McpTarget(url=f"https://{NAME}/mcp"))
    direct_times: list[float] = []
    host_times: list[float] = []
    direct_url = f"https://localhost:{server.port}/mcp"
    async with (
        httpx2.AsyncClient(verify=ca.client_context()) as http,
        Client(streamable_http_client(direct_url, http_client=http), cache=None) as direct,
        GuardedClient(policy) as guarded,
    ):
        executor = Executor(guarded)
        for _ in range(10):  # warm both paths
            await direct.call_tool("echo", {"text": "hi"})
            await executor.execute(tool, '{"text": "hi"}', request)
        for _ in range(calls):
            start = time.perf_counter()
            await direct.call_tool("echo", {"text": "hello"})
            direct_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            outcome = await executor.execute(tool, '{"text": "hello"}', request)
            host_times.append(time.perf_counter() - start)
            if not outcome.ok:
                raise SystemExit(f"host call failed: {outcome.error}")
    print(f"{calls} calls each, MCP over streamable HTTP, TLS on loopback")
    print(f"{'path':<22}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    paths = (("SDK client, session", direct_times), ("host, call per conn", host_times))
    for label, times in paths:
        print(
            f"{label:<22}{percentile(times, 0.5) * 1000:>10.3f}"
            f"{percentile(times, 0.99) * 1000:>10.3f}{statistics.mean(times) * 1000:>10.3f}"
        )
    ratio = percentile(host_times, 0.5) / percentile(direct_times, 0.5)
    print(f"host p50 over the kept session: {ratio:.2f}x")


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    ca = TestCA()
    app = build().streamable_http_app(
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
    with (
        tempfile.TemporaryDirectory() as folder,
        LoopbackServer(
            app, ssl_context=ca.server_context(NAME, "localhost"), lifespan=True
        ) as server,
    ):
        asyncio.run(measure(calls, server, ca, ca.ca_pem_path(Path(folder))))


if __name__ == "__main__":
    main()
