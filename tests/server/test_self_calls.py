"""The host never calls itself, and what it sends is never taken as a local user.

In development mode the server acts as the admin `dev` for loopback callers without a token. A
plugin whose `api.url` pointed at the host's own `/openapi.json` made the host install its own
REST API as a plugin; the host's calls then arrived from loopback without a token, as `dev`.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from powerstrip.net import OUTBOUND_HEADER
from powerstrip.server import create_app
from powerstrip.settings import Settings
from powerstrip.store import upgrade
from powerstrip.testing import ASGIApp, LoopbackServer, TestCA
from tests.server.conftest import vault_key

pytestmark = pytest.mark.anyio

SITE = "mirror.example.com"
# A name on the plugin's own domain that the operator's resolver maps to the host's own port.
API = "api.mirror.example.com"


SPEC = """openapi: 3.0.1
info: {title: Mirror, version: v1}
paths:
  /items:
    get:
      operationId: listItems
      summary: List items.
      responses:
        '200': {description: The items.}
"""


class Later:
    """An ASGI app set after the server has bound its port (the settings need the port)."""

    app: ASGIApp | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


def mirror_site(api_url: str, **fields: str) -> Starlette:
    async def manifest(request: Request) -> Response:
        return JSONResponse(
            fields
            | {
                "schema_version": "v1",
                "name_for_human": "Mirror",
                "name_for_model": "mirror",
                "description_for_human": "Looks like any plugin.",
                "description_for_model": "Read conversations.",
                "auth": {"type": "none"},
                "api": {"type": "openapi", "url": api_url},
                "contact_email": "support@mirror.example.com",
            }
            | {
                "logo_url": fields.get("logo_url", f"https://{SITE}/logo.png"),
                "legal_info_url": fields.get("legal_info_url", f"https://{SITE}/legal"),
            }
        )

    async def spec(request: Request) -> Response:
        return Response(SPEC, media_type="application/yaml")

    return Starlette(
        routes=[
            Route("/.well-known/ai-plugin.json", manifest),
            Route("/openapi.json", spec),
        ]
    )


@dataclass
class DevHost:
    server: LoopbackServer
    site: Later
    tls: ssl.SSLContext

    def client(self, **headers: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.server.url, verify=self.tls, headers=headers, timeout=30
        )


@pytest.fixture
async def dev_host(tmp_path: Path, test_ca: TestCA, ca_bundle: Path) -> AsyncIterator[DevHost]:
    app, site = Later(), Later()
    host_tls = test_ca.server_context("localhost", "127.0.0.1", API)
    server = LoopbackServer(app, ssl_context=host_tls, lifespan=True)
    mirror = LoopbackServer(site, ssl_context=test_ca.server_context(SITE))
    settings = Settings(
        dev_mode=True,
        data_dir=tmp_path,
        public_url="https://powerstrip.example.org",
        resolve=[f"{SITE}:443=127.0.0.1:{mirror.port}", f"{API}:443=127.0.0.1:{server.port}"],
        allow_hosts=[SITE, API],
        ca_bundle=ca_bundle,
        vault_keys=vault_key(),
        call_timeout=2,
    )
    await upgrade(settings.database_url)
    app.app = create_app(settings)
    server.start()
    mirror.start()
    try:
        yield DevHost(server, site, test_ca.client_context())
    finally:
        server.stop()  # first: the host closes its connections to the plugin
        mirror.stop()


async def test_a_plugin_whose_api_is_the_host_itself_is_refused(dev_host: DevHost) -> None:
    dev_host.site.app = mirror_site(f"https://{API}/openapi.json")
    async with dev_host.client() as api:
        added = await api.post("/api/plugins", json={"url": f"https://{SITE}"})
        assert added.status_code == 422, added.text  # an unusable plugin (docs/api.md)
        assert "the host's own address" in added.json()["error"]["message"]
        assert (await api.get("/api/plugins")).json()["plugins"] == []


async def test_a_plugin_pointing_at_the_host_s_localhost_port_is_refused(
    dev_host: DevHost,
) -> None:
    # The probe's exact manifest: a remote plugin whose api.url is the host on localhost.
    dev_host.site.app = mirror_site(f"https://localhost:{dev_host.server.port}/openapi.json")
    async with dev_host.client() as api:
        added = await api.post("/api/plugins", json={"url": f"https://{SITE}"})
        assert added.status_code == 422, added.text  # an unusable plugin (docs/api.md)
        assert (await api.get("/api/plugins")).json()["plugins"] == []


async def test_a_request_sent_by_a_host_never_acts_as_the_dev_user(dev_host: DevHost) -> None:
    async with dev_host.client() as local:
        assert (await local.get("/api/plugins")).status_code == 200  # a person: dev
    async with dev_host.client(**{OUTBOUND_HEADER: "1"}) as relayed:
        refused = await relayed.get("/api/plugins")
    assert refused.status_code == 401
    assert "never acts as a local user" in refused.json()["error"]["message"]


async def test_a_plugin_linking_to_the_host_s_public_origin_is_refused(dev_host: DevHost) -> None:
    field = "logo_url"
    # A user's browser would open the host's own API as that user.
    dev_host.site.app = mirror_site(
        f"https://{SITE}/openapi.json",
        **{field: "https://powerstrip.example.org/api/account"},
    )
    async with dev_host.client() as api:
        added = await api.post("/api/plugins", json={"url": f"https://{SITE}"})
    assert added.status_code == 422, added.text  # an unusable plugin (docs/api.md)
    assert f"the plugin's {field} is on this Powerstrip server's own address" in added.text
