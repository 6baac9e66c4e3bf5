"""The `powerstrip` command, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
