"""Fixtures for the example plugins: a test config, a TLS client context, a server per app."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from powerstrip.examples import EXAMPLES, ExampleConfig
from powerstrip.testing import LoopbackServer, TestCA
from tests.conftest import ServeApp

REDIRECT_URI = "https://host.example.org/aip/todo-oauth/oauth/callback"
SERVICE_KEY = "test-service-key"
CLIENT_ID = "powerstrip-test"
CLIENT_SECRET = "test-client-secret"
USERS = {"alice": "alice-password", "bob": "bob-password"}

ServeExample = Callable[[str, ExampleConfig], LoopbackServer]


def make_config(data_dir: Path, **changes: Any) -> ExampleConfig:
    """A config with known test secrets; `changes` override any field."""
    fields: dict[str, Any] = {
        "data_dir": data_dir,
        "service_key": SERVICE_KEY,
        "verification_tokens": {"powerstrip": "host-verification-token"},
        "oauth_client_id": CLIENT_ID,
        "oauth_client_secret": CLIENT_SECRET,
        "oauth_redirect_uris": (REDIRECT_URI,),
        "demo_users": USERS,
    }
    fields.update(changes)
    return ExampleConfig(**fields)


@pytest.fixture
def config(tmp_path: Path) -> ExampleConfig:
    return make_config(tmp_path)


@pytest.fixture(scope="session")
def tls(test_ca: TestCA) -> ssl.SSLContext:
    """A client context that trusts the loopback servers' test CA."""
    return test_ca.client_context()


@pytest.fixture(scope="session")
def serve_example(serve_app: ServeApp) -> ServeExample:
    """Build an example with a config and serve it over HTTPS on loopback."""

    def serve(name: str, config: ExampleConfig) -> LoopbackServer:
        return serve_app(EXAMPLES[name].build(config))

    return serve
