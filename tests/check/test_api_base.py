"""The API base URL obeys the same rules at add and check time as at call time."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from powerstrip.check import check_url
from powerstrip.net import GuardedClient
from powerstrip.testing import loopback_policy
from tests.conftest import ServeApp

pytestmark = pytest.mark.anyio


def site(server: str) -> Starlette:
    async def manifest(request: Request) -> Response:
        return JSONResponse(
            {
                "schema_version": "v1",
                "name_for_human": "Ports",
                "name_for_model": "ports",
                "description_for_human": "A plugin whose API is on another port.",
                "description_for_model": "List items.",
                "auth": {"type": "none"},
                "api": {"type": "openapi", "url": "https://plugin.example.com/openapi.yaml"},
                "logo_url": "https://plugin.example.com/logo.png",
                "contact_email": "support@example.com",
                "legal_info_url": "https://plugin.example.com/legal",
            }
        )

    async def spec(request: Request) -> Response:
        text = f"""openapi: 3.0.1
info: {{title: Ports, version: v1}}
servers: [{{url: '{server}'}}]
paths:
  /items:
    get:
      operationId: listItems
      summary: List items.
      responses: {{'200': {{description: OK}}}}
"""
        return Response(text, media_type="application/yaml")

    return Starlette(
        routes=[Route("/.well-known/ai-plugin.json", manifest), Route("/openapi.yaml", spec)]
    )


@pytest.mark.parametrize(
    ("server", "why"),
    [
        ("https://plugin.example.com:8443/v1", "uses port 8443"),
        ("http://plugin.example.com/v1", "uses http"),
    ],
)
async def test_an_api_base_every_call_would_refuse_is_an_error_at_check_time(
    serve_app: ServeApp, ca_bundle: Path, server: str, why: str
) -> None:
    served = serve_app(site(server))
    async with GuardedClient(
        loopback_policy(served, ["plugin.example.com"], ca_bundle=ca_bundle)
    ) as client:
        report = await check_url("https://plugin.example.com", client, dev_mode=False)
    [finding] = [f for f in report.findings if f.code == "PS203"]
    assert finding.location == "spec.servers"
    assert why in finding.message
    assert report.errors >= 1
