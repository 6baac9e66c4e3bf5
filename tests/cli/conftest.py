"""The `powerstrip` commands in-process (Typer's CliRunner) against real plugins on loopback.

Each test gets its own data directory (SQLite store, vault key) and the four example hosts of
`tests.registry.conftest` (`plugin.example.com` todo-none, `api.example.com` todo-service,
`www.example.com` todo-user, `example.com` todo-oauth), reached over TLS through
`POWERSTRIP_RESOLVE`, `POWERSTRIP_ALLOW_HOSTS` and `POWERSTRIP_CA_BUNDLE`, as an operator
would configure a host behind a private CA.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import Result
from typer.testing import CliRunner

from powerstrip.cli import app
from powerstrip.examples import EXAMPLES, ExampleConfig
from powerstrip.host import Host
from powerstrip.settings import Settings
from tests.examples.conftest import make_config
from tests.registry.conftest import HOSTS, PUBLIC_URL, Servers, servers

__all__ = ["HOSTS", "PUBLIC_URL", "Cli", "run_async", "servers", "vault_entry"]

T = TypeVar("T")


def vault_entry(key_id: str) -> str:
    """A fresh `POWERSTRIP_VAULT_KEYS` entry."""
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


def run_async(main: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(main)


@dataclass
class Cli:
    """Runs `powerstrip` commands with one test's environment, and serves its plugins."""

    env: dict[str, str]
    data_dir: Path
    servers: Servers
    configs: dict[str, ExampleConfig] = field(default_factory=dict)

    def __call__(self, *args: str, input: str | None = None, code: int = 0) -> Result:
        """Run a command; fail the test unless it exits with `code`."""
        result = CliRunner(env=self.env).invoke(app, list(args), input=input)
        assert result.exit_code == code, (
            f"powerstrip {' '.join(args)} exited {result.exit_code}:\n{result.output}"
            + (f"\n{result.exception!r}" if code == 0 else "")
        )
        assert "Traceback" not in result.output
        return result

    def serve(self, host: str, example: str | None = None, **changes: Any) -> ExampleConfig:
        """Put a freshly built example (default: the host's) behind `host`."""
        redirects = tuple(f"{PUBLIC_URL}/aip/{n}/oauth/callback" for n in range(1, 20))
        fields: dict[str, Any] = {"verification_tokens": {}, "oauth_redirect_uris": redirects}
        config = make_config(self.data_dir / "plugins", **(fields | changes))
        self.servers.apps[host].app = EXAMPLES[example or HOSTS[host]].build(config)
        self.configs[host] = config
        return config

    def settings(self) -> Settings:
        """The settings the commands see."""
        names = [name for name in self.env if name.startswith("POWERSTRIP_")]
        values = {name.removeprefix("POWERSTRIP_").lower(): self.env[name] for name in names}
        return Settings(**values)

    async def host(self) -> Host:
        """A host over the commands' store (close it with `aclose`)."""
        return await Host.start(self.settings(), model=_NoModel())


class _NoModel:
    """Tests that open the store themselves never run a turn."""

    name = "none"

    def stream(self, messages: object, tools: object, *, sampling: object = None) -> Any:
        raise AssertionError("no model in this test")


@pytest.fixture
def cli(tmp_path: Path, servers: Servers, ca_bundle: Path) -> Iterator[Cli]:
    resolve = [f"{name}:443=127.0.0.1:{server.port}" for name, server in servers.servers.items()]
    env = {
        "POWERSTRIP_DATA_DIR": str(tmp_path),
        "POWERSTRIP_PUBLIC_URL": PUBLIC_URL,
        "POWERSTRIP_RESOLVE": ",".join(resolve),
        "POWERSTRIP_ALLOW_HOSTS": ",".join(HOSTS),
        "POWERSTRIP_CA_BUNDLE": str(ca_bundle),
        "POWERSTRIP_VAULT_KEYS": vault_entry("first"),
        "POWERSTRIP_DEV_MODE": "true",
        "POWERSTRIP_CALL_TIMEOUT": "5",
        "POWERSTRIP_MODEL_BASE_URL": "",
        "COLUMNS": "200",
    }
    runner = Cli(env, tmp_path, servers)
    for host in HOSTS:
        runner.serve(host)
    try:
        yield runner
    finally:
        for swappable in servers.apps.values():
            swappable.app = None
