"""A plain-HTTP plugin on loopback whose one operation waits until the test lets it answer.

Development mode lets a host call plugins on http://127.0.0.1, so a `powerstrip serve --dev`
subprocess can reach it without TLS. `arrived` is set when a call comes in; the call answers
once `release` is set (or after `limit` seconds, so a forgotten release cannot hang a run).
"""

from __future__ import annotations

import threading

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from powerstrip.testing import LoopbackServer

FUNCTION = "stall__wait"


class StallSite:
    """The plugin `stall` (operation `wait`), served on 127.0.0.1 while the object lives."""

    def __init__(self, limit: float = 90) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.calls = 0
        self.limit = limit
        self.server = LoopbackServer(
            Starlette(
                routes=[
                    Route("/.well-known/ai-plugin.json", self._manifest),
                    Route("/openapi.yaml", self._spec),
                    Route("/wait", self._wait),
                ]
            ),
            graceful_seconds=1,
        )

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> StallSite:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.stop()

    async def _manifest(self, request: Request) -> Response:
        return JSONResponse(
            {
                "schema_version": "v1",
                "name_for_human": "Stall",
                "name_for_model": "stall",
                "description_for_human": "A plugin that waits before it answers, for tests.",
                "description_for_model": "Wait for the answer.",
                "auth": {"type": "none"},
                "api": {"type": "openapi", "url": f"{self.url}/openapi.yaml"},
                "logo_url": f"{self.url}/logo.png",
                "contact_email": "support@example.com",
                "legal_info_url": f"{self.url}/legal",
            }
        )

    async def _spec(self, request: Request) -> Response:
        spec = (
            "openapi: 3.0.1\n"
            "info: {title: Stall, version: v1}\n"
            f"servers: [{{url: '{self.url}'}}]\n"
            "paths:\n"
            "  /wait:\n"
            "    get:\n"
            "      operationId: wait\n"
            '      responses: {"200": {description: OK}}\n'
        )
        return Response(spec, media_type="application/yaml")

    async def _wait(self, request: Request) -> Response:
        self.calls += 1
        self.arrived.set()
        # A thread waits on the threading.Event the test sets from its own thread.
        await anyio.to_thread.run_sync(self.release.wait, self.limit, abandon_on_cancel=True)
        return JSONResponse({"waited": True})
