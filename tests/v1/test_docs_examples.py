"""Every example in docs/openai-api.md runs against a real server, with the model script the
comment above it gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from powerstrip import testing
from tests.v1.conftest import V1

ROOT = Path(__file__).resolve().parents[2]
_EXAMPLE = re.compile(r"<!-- model:(?P<script>.*?) -->\n```python\n(?P<code>.+?)```", re.DOTALL)


def _examples() -> list[tuple[str, str]]:
    text = (ROOT / "docs" / "openai-api.md").read_text(encoding="utf-8")
    return [(match["script"], match["code"]) for match in _EXAMPLE.finditer(text)]


def test_the_page_has_its_examples() -> None:
    assert len(_examples()) >= 7


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the client deprecates Assistants
@pytest.mark.parametrize(("script", "code"), _examples())
def test_the_example_runs(v1: V1, monkeypatch: pytest.MonkeyPatch, script: str, code: str) -> None:
    if script.strip():  # an example that never asks the model has an empty script
        steps = eval(f"({script},)", vars(testing))  # noqa: S307 - the docs' own model script
        v1.model.push(*steps)
    monkeypatch.setenv("POWERSTRIP_URL", v1.base_url)
    monkeypatch.setenv("POWERSTRIP_TOKEN", v1.token("docs"))
    namespace: dict[str, object] = {}
    exec(compile(code, "docs/openai-api.md", "exec"), namespace)  # noqa: S102 - the docs' example
    namespace["client"].close()  # type: ignore[attr-defined]
    assert v1.model.remaining == ()
