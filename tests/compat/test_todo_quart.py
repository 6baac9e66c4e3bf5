"""A plugin written for the original platform (Quart, hand-written files) passes `check --dev`.

The plugin in `todo_quart/` is the original quickstart's TODO plugin in the original style; it
runs on a real loopback server and the real `powerstrip` CLI checks it in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from powerstrip.check.rules import url_policy_findings
from powerstrip.plugin import parse_manifest
from powerstrip.testing import LoopbackServer
from tests.compat.todo_quart.main import app

pytestmark = pytest.mark.network

HERE = Path(__file__).parent / "todo_quart"


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    # Plain HTTP on localhost, as the original localhost development flow served plugins.
    with LoopbackServer(app) as running:
        yield running


@pytest.fixture(scope="module")
def base(server: LoopbackServer) -> str:
    return f"http://localhost:{server.port}"


@pytest.fixture(scope="module")
def checked(base: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The JSON report of `powerstrip check --dev --json BASE`, with its exit code."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("POWERSTRIP_")}
    finished = subprocess.run(  # noqa: S603 - our own CLI, with arguments we chose
        [sys.executable, "-m", "powerstrip", "check", "--dev", "--json", base],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path_factory.mktemp("check"),
        env=environment,
        check=False,
    )
    report: dict[str, Any] = json.loads(finished.stdout)
    report["exit_code"] = finished.returncode
    report["stderr"] = finished.stderr
    return report


def test_the_hand_written_files_are_in_the_original_style() -> None:
    manifest = json.loads((HERE / "ai-plugin.json").read_text())
    assert manifest["auth"] == {"type": "none"}
    assert manifest["api"] == {"type": "openapi", "url": "http://localhost:PORT/openapi.yaml"}
    assert manifest["contact_email"].endswith("@example.com")
    spec = (HERE / "openapi.yaml").read_text()
    assert spec.startswith("openapi: 3.0.1\n")
    assert "$ref: '#/components/schemas/addTodoRequest'" in spec


def test_check_dev_passes_with_no_errors(checked: dict[str, Any]) -> None:
    assert checked["exit_code"] == 0, checked["stderr"]
    assert checked["ok"] is True
    assert checked["summary"]["errors"] == 0
    errors = [f for f in checked["findings"] if f["severity"] == "error"]
    assert errors == []
    warned = [f["location"] for f in checked["findings"] if f["code"] == "PS211"]
    assert warned == ["legal_info_url"], "the plain-http legal page is still said"


def test_check_dev_lists_the_three_operations(checked: dict[str, Any], base: str) -> None:
    functions = {op["function"]: op for op in checked["operations"]}
    assert set(functions) == {"todo__addTodo", "todo__getTodos", "todo__deleteTodo"}
    assert checked["summary"]["operations"] == 3
    assert checked["manifest_url"] == f"{base}/.well-known/ai-plugin.json"
    assert checked["spec_url"] == f"{base}/openapi.yaml"
    assert checked["api_base_url"] == base
    adding = functions["todo__addTodo"]["parameters"]
    assert set(adding["properties"]) == {"username", "todo"}
    deleting = functions["todo__deleteTodo"]["parameters"]
    assert set(deleting["properties"]) == {"username", "todo_idx"}


def test_the_manifest_is_served_with_the_requests_host(base: str) -> None:
    reply = httpx.get(f"{base}/.well-known/ai-plugin.json", timeout=10)
    assert reply.status_code == 200
    manifest = reply.json()
    assert manifest["api"]["url"] == f"{base}/openapi.yaml"
    assert manifest["logo_url"] == f"{base}/logo.png"


def test_the_quart_plugin_adds_lists_and_deletes_todos(base: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.post("/todos/compat-user", json={"todo": "buy milk"}).text == "OK"
        assert http.post("/todos/compat-user", json={"todo": "walk the dog"}).text == "OK"
        assert http.get("/todos/compat-user").json() == ["buy milk", "walk the dog"]
        deleted = http.request("DELETE", "/todos/compat-user", json={"todo_idx": 0})
        assert deleted.text == "OK"
        assert http.get("/todos/compat-user").json() == ["walk the dog"]
        logo = http.get("/logo.png")
    assert logo.headers["content-type"] == "image/png"
    assert logo.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_quart_cors_allows_the_original_host_origin(base: str) -> None:
    reply = httpx.options(
        f"{base}/todos/compat-user",
        headers={"Origin": "https://chat.openai.com", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert reply.headers["access-control-allow-origin"] == "https://chat.openai.com"


def test_plugins_add_dev_takes_it_as_shipped(base: str, tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("POWERSTRIP_")}
    environment["POWERSTRIP_DATA_DIR"] = str(tmp_path)
    finished = subprocess.run(  # noqa: S603 - our own CLI, with arguments we chose
        [sys.executable, "-m", "powerstrip", "plugins", "add", "--dev", base],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=environment,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "Added todo" in finished.stdout


def test_the_legal_page_is_the_original_placeholder() -> None:
    manifest = json.loads((HERE / "ai-plugin.json").read_text())
    assert manifest["legal_info_url"] == "http://example.com/legal"


def test_outside_development_mode_an_http_legal_page_is_an_error() -> None:
    manifest = json.loads((HERE / "ai-plugin.json").read_text())
    manifest["api"]["url"] = "https://todo.example.com/openapi.yaml"
    manifest["logo_url"] = "https://todo.example.com/logo.png"
    parsed = parse_manifest(manifest).manifest
    assert parsed is not None
    found = url_policy_findings(parsed, None, dev_mode=False)
    assert [(f.code, f.location) for f in found] == [("PS203", "legal_info_url")]
