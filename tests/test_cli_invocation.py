"""The commands the CLI prints in its hints run as pasted, on the PATH or not."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "powerstrip"


def _plugins_list(cwd: Path, data_dir: Path, path: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERSTRIP_")}
    env |= {"PATH": path, "POWERSTRIP_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    result = subprocess.run(  # noqa: S603 - our own console script and arguments
        [str(SCRIPT), "plugins", "list", "--dev"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_hint_names_the_script_by_its_path_when_it_is_not_on_path(tmp_path: Path) -> None:
    out = _plugins_list(tmp_path, tmp_path / "data", "/usr/bin:/bin")
    assert f"Add one: {SCRIPT} plugins add URL" in out


def test_a_hint_names_the_script_relative_to_the_current_folder(tmp_path: Path) -> None:
    out = _plugins_list(SCRIPT.parents[2], tmp_path / "data", "/usr/bin:/bin")
    relative = SCRIPT.relative_to(SCRIPT.parents[2])
    assert f"Add one: {relative} plugins add URL" in out


def test_a_hint_says_the_bare_name_when_the_shell_finds_this_script(tmp_path: Path) -> None:
    out = _plugins_list(tmp_path, tmp_path / "data", f"{SCRIPT.parent}:/usr/bin:/bin")
    assert "Add one: powerstrip plugins add URL" in out


def test_every_command_does_not_open_with_the_dev_key_warning(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERSTRIP_")}
    env |= {"POWERSTRIP_DATA_DIR": str(tmp_path)}
    runs = [
        subprocess.run(  # noqa: S603 - our own console script and arguments
            [str(SCRIPT), "plugins", "list", "--dev"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=True,
        )
        for _ in range(2)
    ]
    assert "vault.dev_key" in runs[0].stderr, "the first command says the key was made"
    assert "vault.dev_key" not in runs[1].stderr


def test_no_hint_in_the_cli_names_a_bare_powerstrip_command() -> None:
    # A hint written as "`powerstrip plugins ...`" fails when pasted after make run: every hint
    # that names a command goes through powerstrip_command(). Docstrings describe, not hint.
    src = Path(__file__).resolve().parents[1] / "src" / "powerstrip"
    offenders = []
    for module in sorted(src.glob("cli*.py")):
        tree = ast.parse(module.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and "`powerstrip " in node.value
            ):
                offenders.append(f"{module.name}:{node.lineno}: {node.value!r}")
    assert not offenders, "\n".join(offenders)
