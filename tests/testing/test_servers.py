"""The shipped test helpers: TestCA certificates and LoopbackServer over HTTP and HTTPS."""

from __future__ import annotations

import socket
import ssl
import urllib.request
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

import powerstrip.testing
from powerstrip.net import AllowEntry
from powerstrip.testing import LoopbackServer, TestCA, loopback_policy

pytestmark = pytest.mark.network


async def hello(request: Request) -> Response:
    return PlainTextResponse(f"hello {request.url.scheme}")


APP = Starlette(routes=[Route("/", hello)])


def test_loopback_server_serves_plain_http() -> None:
    with LoopbackServer(APP) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        with urllib.request.urlopen(server.url + "/", timeout=5) as reply:  # noqa: S310
            assert reply.read() == b"hello http"


def test_loopback_server_listens_on_the_port_it_is_given() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with LoopbackServer(APP, port=port) as server:
        assert server.url == f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(server.url + "/", timeout=5) as reply:  # noqa: S310
            assert reply.read() == b"hello http"


def test_loopback_server_serves_tls_with_a_test_ca_certificate(test_ca: TestCA) -> None:
    context = test_ca.server_context("localhost", "127.0.0.1")
    with LoopbackServer(APP, ssl_context=context) as server:
        assert server.url.startswith("https://127.0.0.1:")
        client = test_ca.client_context()
        with urllib.request.urlopen(  # noqa: S310
            server.url + "/", context=client, timeout=5
        ) as reply:
            assert reply.read() == b"hello https"


def test_ca_pem_path_writes_a_loadable_bundle(test_ca: TestCA, tmp_path: Path) -> None:
    path = test_ca.ca_pem_path(tmp_path / "nested")
    assert path.read_bytes() == test_ca.ca_pem
    context = ssl.create_default_context(cafile=str(path))
    assert context.cert_store_stats()["x509_ca"] == 1


def test_server_context_needs_a_name(test_ca: TestCA) -> None:
    with pytest.raises(ValueError, match="at least one"):
        test_ca.server_context()


def test_loopback_policy_maps_names_to_the_server(ca_bundle: Path) -> None:
    server = LoopbackServer(APP)
    try:
        policy = loopback_policy(server, ["plugin.example.com"], ca_bundle=ca_bundle)
    finally:
        server.stop()
    (rule,) = policy.resolve
    assert (rule.host, str(rule.address), rule.port, rule.to_port) == (
        "plugin.example.com",
        "127.0.0.1",
        443,
        server.port,
    )
    assert policy.allow.entries == (AllowEntry(host="plugin.example.com"),)
    assert policy.ca_bundle == ca_bundle


def test_exported_members_are_documented() -> None:
    for name in powerstrip.testing.__all__:
        member = getattr(powerstrip.testing, name)
        assert member.__doc__ or name == "ASGIApp", name
