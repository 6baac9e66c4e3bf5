"""The Python sample in docs/examples.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_registry_sample_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "docs" / "examples.md").read_text(encoding="utf-8")
    [sample] = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(sample, "docs/examples.md", "exec"), namespace)  # noqa: S102 - our own docs
    assert str(namespace["key"]).startswith("todo_")
    assert "OAuth client_secret" in capsys.readouterr().out
    assert (tmp_path / "example-data" / "todo-user.db").is_file()
