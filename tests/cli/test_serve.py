"""`powerstrip serve`: the server as a real process, and the example plugins wired beside it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from powerstrip.cli import app
from powerstrip.cli.dev_examples import ExampleServers, wire_examples
from powerstrip.cli.dev_examples import _bind as examples_bind
from powerstrip.cli.serve import _bind as _serve_bind
from powerstrip.examples import ExampleConfig
from powerstrip.host import Host
from powerstrip.settings import Settings
from powerstrip.testing import ScriptedModelServer
from tests.cli.conftest import run_async

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_NAMES = ["todo", "todo_service", "todo_user", "todo_oauth", "sports", "retrieval"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as scripted:
        yield scripted


def test_serve_with_examples_answers_with_the_examples_installed(
    tmp_path: Path, model: ScriptedModelServer
) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERSTRIP_")}
    env |= {
        "POWERSTRIP_DATA_DIR": str(tmp_path),
        "POWERSTRIP_MODEL_BASE_URL": model.base_url,
        "COLUMNS": "200",
    }
    command = [sys.executable, "-m", "powerstrip", "serve", "--dev", "--with-examples"]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [*command, "--port", str(port), "--examples-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=5) as client:
            # Starting the host wires six example plugins: under load (xdist on 2 cores) that
            # has taken over 20 s. This bounds a hang; it measures nothing.
            deadline = time.monotonic() + 60
            while True:
                try:
                    health = client.get("/healthz")
                    break
                except httpx.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            assert health.json()["status"] == "ok"
            plugins = client.get("/api/plugins").json()["plugins"]  # dev mode: the dev user
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert [p["name_for_model"] for p in plugins] == EXAMPLE_NAMES
    assert all(p["installed"] and p["verified"] for p in plugins)
    assert f"server:   {base}" in out
    assert "todo_oauth: sign in" in out
    assert f"{base}/aip/4/oauth/begin?ticket=" in out
    assert "powerstrip chat --dev --plugin 1 --plugin 5" in out
    assert "not set up" not in out


async def _wire_twice(settings: Settings, servers: ExampleServers) -> list[list[object]]:
    host = await Host.start(settings, model=None)
    try:
        rounds = []
        for _ in range(2):
            wired = await wire_examples(host, servers)
            rounds.append([(w.name, w.plugin.id if w.plugin else w.problem) for w in wired])
        entries = await host.registry.list_plugins(1, installed_only=True)
        rounds.append([entry.plugin.name_for_model for entry in entries])
    finally:
        await host.aclose()
    return rounds


def test_wiring_the_examples_again_finds_them_in_the_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, dev_mode=True, model_base_url="http://127.0.0.1:9/v1")
    servers = ExampleServers(ExampleConfig(data_dir=tmp_path / "examples"), 0)
    servers.start()
    try:
        first, second, installed = run_async(_wire_twice(settings, servers))
    finally:
        servers.close()
    assert first == [
        ("todo-none", 1),
        ("todo-service", 2),
        ("todo-user", 3),
        ("todo-oauth", 4),
        ("sports", 5),
        ("retrieval", 6),
    ]
    assert second == first
    assert installed == EXAMPLE_NAMES


def test_the_examples_need_dev_mode(tmp_path: Path) -> None:
    runner = CliRunner(env={"POWERSTRIP_DATA_DIR": str(tmp_path), "POWERSTRIP_DEV_MODE": "false"})
    result = runner.invoke(app, ["serve", "--with-examples", "--port", "0"])
    assert result.exit_code == 1
    assert "only development mode allows" in result.stderr
    assert "Fix: add --dev" in result.stderr


def test_a_port_in_use_is_reported(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        runner = CliRunner(env={"POWERSTRIP_DATA_DIR": str(tmp_path)})
        result = runner.invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in result.stderr
    assert "Traceback" not in result.output


def test_several_workers_refuse_an_in_memory_database(tmp_path: Path) -> None:
    env = {"POWERSTRIP_DATA_DIR": str(tmp_path), "POWERSTRIP_DATABASE_URL": "sqlite+aiosqlite://"}
    result = CliRunner().invoke(app, ["serve", "--port", "0", "--workers", "2"], env=env)
    assert result.exit_code == 1
    assert "in-memory SQLite database" in result.output


def serve_bind(port: int) -> socket.socket:
    return _serve_bind("127.0.0.1", port)


@pytest.mark.parametrize("bind", [serve_bind, examples_bind])
def test_connections_to_the_server_s_sockets_send_without_delay(
    bind: Callable[[int], socket.socket],
) -> None:
    # Without TCP_NODELAY a response written in two pieces waits ~40 ms for a delayed ACK.
    with bind(0) as listener:
        listener.listen()
        with socket.create_connection(listener.getsockname()[:2]):
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
