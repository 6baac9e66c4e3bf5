"""The docs cannot rot: every setting, finding code and CLI command is documented."""

from __future__ import annotations

from pathlib import Path

import typer.main

from powerstrip.cli import app
from powerstrip.findings import RULES, rules_markdown
from powerstrip.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`POWERSTRIP_{name.upper()}`" in text, f"POWERSTRIP_{name.upper()} undocumented"


def test_every_finding_code_is_documented_with_its_title() -> None:
    text = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    assert rules_markdown() in text, "regenerate the table with powerstrip.findings.rules_markdown"
    for code in RULES:
        assert f"### {code}" in text, f"{code} has no section in docs/findings.md"


def test_every_cli_command_is_documented() -> None:
    docs = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))
    group = typer.main.get_command(app)
    assert isinstance(group, typer.main.TyperGroup)
    for name in group.commands:
        assert f"powerstrip {name}" in docs, f"`powerstrip {name}` is not documented"


def test_readme_starts_with_the_two_command_quickstart() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert "make run" in quickstart
    assert "make test" in quickstart
    first_section = text.split("\n## ", 1)[1]
    assert first_section.startswith("Quickstart")
