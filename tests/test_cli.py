"""The `powerstrip` command, run as a real process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from powerstrip.auth import Vault
from powerstrip.settings import Settings
from powerstrip.testing import LoopbackServer
from tests.check import plugin_site
from tests.conftest import ServeApp

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "plugins"


def powerstrip(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("POWERSTRIP_")}
    full_env.update(env or {})
    full_env["COLUMNS"] = "200"
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "powerstrip", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


def test_the_bundled_example_is_clean() -> None:
    result = powerstrip("check", "--prompt", "examples/quickstart")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 error(s), 0 warning(s)" in result.stdout
    assert "todo__getTodos" in result.stdout
    assert "3 operation(s)" in result.stdout
    assert "namespace todo {" in result.stdout
    assert "type addTodo = (_: {" in result.stdout


def test_check_a_live_plugin_as_json(serve_app: ServeApp, ca_bundle: Path) -> None:
    site: LoopbackServer = serve_app(plugin_site.app)
    result = powerstrip(
        "check",
        "--json",
        "--resolve",
        f"plugin.example.com:443=127.0.0.1:{site.port}",
        "--ca-bundle",
        str(ca_bundle),
        "https://plugin.example.com",
        env={"POWERSTRIP_ALLOW_HOSTS": "plugin.example.com"},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["name_for_model"] == "todo"
    assert [op["function"] for op in report["operations"]] == ["todo__listTodos", "todo__addTodo"]
    assert all({"code", "location", "message", "fix"} <= set(f) for f in report["findings"])


def test_a_blocked_address_fails_with_exit_code_1() -> None:
    result = powerstrip("check", "https://127.0.0.1/")
    assert result.returncode == 1
    assert "PS004" in result.stdout


def test_a_broken_manifest_file_fails_with_every_finding(tmp_path: Path) -> None:
    path = tmp_path / "ai-plugin.json"
    path.write_text(json.dumps({"schema_version": "v1", "name_for_model": "bad name"}))
    result = powerstrip("check", "--json", str(path))
    assert result.returncode == 1
    found = {f["code"] for f in json.loads(result.stdout)["findings"]}
    assert {"PS104", "PS107"} <= found


def test_a_malformed_setting_exits_2_with_a_clear_message() -> None:
    result = powerstrip("check", "--resolve", "no-equals-sign", "example.com")
    assert result.returncode == 2
    assert "no-equals-sign" in result.stdout + result.stderr


def test_a_directory_gets_one_summary_table() -> None:
    result = powerstrip("check", str(CORPUS))
    assert result.returncode == 1  # real plugins break rules
    assert "Findings over" in result.stdout
    assert "PS105" in result.stdout
    manifests = len(list((CORPUS / "manifests").glob("*.json")))
    assert f"{manifests} plugin(s)" in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_example_serve_then_check_dev(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "powerstrip",
            "example",
            "serve",
            "todo-none",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        result = powerstrip("check", "--dev", "--json", f"http://127.0.0.1:{port}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["errors"] == 0
    assert report["summary"]["warnings"] == 0
    assert report["name_for_model"] == "todo"


def test_keys_new_prints_a_key_the_vault_accepts() -> None:
    result = powerstrip("keys", "new")
    assert result.returncode == 0, result.stderr
    entry = result.stdout.strip()
    vault = Vault.from_settings(Settings(vault_keys=entry))
    token = vault.seal("hello", context="test")
    assert vault.open(token, context="test") == "hello"


def test_check_reports_a_bad_setting_in_one_line() -> None:
    result = powerstrip("check", "example.com", env={"POWERSTRIP_FETCH_TIMEOUT": "abc"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "abc" not in result.stderr, "a setting's value may be a secret: it is never quoted"
    assert result.stderr.count("\n") == 1
    assert "POWERSTRIP_FETCH_TIMEOUT" in result.stderr
