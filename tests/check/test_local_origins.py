"""Development mode opens a plugin's own localhost origin only, and quotes only what it served.

The probe: a plugin whose `api.url` named another local port made the host fetch a local-only
service, and the refusal (PS300, "not an OpenAPI document") quoted that service's answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from powerstrip.check import CheckReport, check_url
from powerstrip.net import AllowList, GuardedClient, NetPolicy
from powerstrip.testing import LoopbackServer, loopback_policy
from tests.conftest import ServeApp

pytestmark = pytest.mark.anyio

LOCAL_SECRET = "local-only-service-data-7731"


def plugin_app(api_url: str) -> Starlette:
    async def manifest(request: Request) -> Response:
        return JSONResponse(
            {
                "schema_version": "v1",
                "name_for_human": "Local",
                "name_for_model": "local",
                "description_for_human": "A plugin on localhost.",
                "description_for_model": "A plugin on localhost.",
                "auth": {"type": "none"},
                "api": {"type": "openapi", "url": api_url},
                "logo_url": "http://localhost/logo.png",
                "contact_email": "dev@example.com",
                "legal_info_url": "http://localhost/legal",
            }
        )

    async def not_a_spec(request: Request) -> Response:
        return Response(f"<html>{LOCAL_SECRET}</html>", media_type="text/html")

    return Starlette(
        routes=[
            Route("/.well-known/ai-plugin.json", manifest),
            Route("/not-a-spec", not_a_spec),
        ]
    )


async def _secret(request: Request) -> Response:
    return Response(f"{LOCAL_SECRET}\n", media_type="text/plain")


@pytest.fixture
def local_service() -> Iterator[LoopbackServer]:
    """A local-only service on another port (a cache, an admin page, the host itself)."""
    with LoopbackServer(Starlette(routes=[Route("/{path:path}", _secret)])) as server:
        yield server


async def _check(api_url: str) -> CheckReport:
    plugin = LoopbackServer(plugin_app(api_url))
    plugin.start()
    try:
        async with GuardedClient(NetPolicy(dev_mode=True)) as client:
            return await check_url(f"http://127.0.0.1:{plugin.port}", client, dev_mode=True)
    finally:
        plugin.stop()


async def test_an_api_url_on_another_local_port_is_refused_without_fetching_it(
    local_service: LoopbackServer,
) -> None:
    report = await _check(f"http://localhost:{local_service.port}/openapi.json")
    [refusal] = [f for f in report.findings if f.location == "api.url"]
    assert refusal.code == "PS004"
    assert "own localhost origin" in refusal.message
    text = " ".join(f"{f.message} {f.value}" for f in report.findings)
    assert LOCAL_SECRET not in text


async def test_a_spec_on_the_plugin_s_own_origin_is_quoted_when_it_is_not_a_spec() -> None:
    # The same port as the manifest: the plugin's own answer may be shown to its author.
    plugin = LoopbackServer(plugin_app(""))
    plugin.app = plugin_app(f"http://127.0.0.1:{plugin.port}/not-a-spec")
    plugin.start()
    try:
        async with GuardedClient(NetPolicy(dev_mode=True)) as client:
            report = await check_url(f"http://127.0.0.1:{plugin.port}", client, dev_mode=True)
    finally:
        plugin.stop()
    assert any(f.code == "PS300" and LOCAL_SECRET in (f.value or "") for f in report.findings)


async def test_a_spec_from_another_origin_is_never_quoted(
    serve_app: ServeApp, ca_bundle: Path
) -> None:
    # The manifest on plugin.example.com, its api.url on api.example.com: another origin,
    # whose answer the plugin's author has no claim to read through the host.
    site = serve_app(plugin_app("https://api.example.com/not-a-spec"))
    names = ("plugin.example.com", "api.example.com")
    # The operator opened api.example.com for this plugin (it is on another domain).
    allow = AllowList.parse(["plugin.example.com", "api.example.com=plugin.example.com"])
    policy = replace(loopback_policy(site, names, ca_bundle=ca_bundle), allow=allow)
    async with GuardedClient(policy) as client:
        report = await check_url("https://plugin.example.com", client, dev_mode=False)
    [refusal] = [f for f in report.findings if f.code == "PS300"]
    assert "not shown" in refusal.message
    text = " ".join(f"{f.message} {f.value}" for f in report.findings)
    assert LOCAL_SECRET not in text


async def test_an_api_base_on_another_local_port_is_an_error_at_check_time(
    local_service: LoopbackServer,
) -> None:
    plugin = LoopbackServer(plugin_app(""))
    spec = (
        "openapi: 3.0.1\ninfo: {title: L, version: v1}\n"
        f"servers: [{{url: 'http://127.0.0.1:{local_service.port}'}}]\n"
        "paths: {/x: {get: {operationId: x, summary: X., responses: {'200': {description: OK}}}}}\n"
    )

    async def serve_spec(request: Request) -> Response:
        return Response(spec, media_type="application/yaml")

    app = plugin_app(f"http://127.0.0.1:{plugin.port}/openapi.yaml")
    app.router.routes.append(Route("/openapi.yaml", serve_spec))
    plugin.app = app
    plugin.start()
    try:
        async with GuardedClient(NetPolicy(dev_mode=True)) as client:
            report = await check_url(f"http://127.0.0.1:{plugin.port}", client, dev_mode=True)
    finally:
        plugin.stop()
    [finding] = [f for f in report.findings if f.code == "PS203"]
    assert "not the plugin's own localhost origin" in finding.message
