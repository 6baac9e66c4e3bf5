"""The public face of `powerstrip.examples`: the registry, the config, generated dev secrets."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

import pytest
from fastapi import FastAPI

import powerstrip.examples
from powerstrip.examples import EXAMPLES, ExampleConfig, resolve_secrets

ROOT = Path(__file__).resolve().parents[2]


def test_the_public_names_are_exactly_these() -> None:
    for name in powerstrip.examples.__all__:
        assert hasattr(powerstrip.examples, name), name
    assert set(powerstrip.examples.__all__) == {
        "DEV_REDIRECT_URI",
        "EXAMPLES",
        "DevSecrets",
        "ExampleConfig",
        "ExampleSpec",
        "OAuthContentType",
        "issue_user_key",
        "resolve_secrets",
    }


def test_every_example_has_a_one_line_description_and_builds_an_app(tmp_path: Path) -> None:
    assert {"todo-none", "todo-service", "todo-user", "todo-oauth"} <= set(EXAMPLES)
    for name, spec in EXAMPLES.items():
        assert spec.description, name
        assert "\n" not in spec.description, name
        assert isinstance(spec.build(ExampleConfig(data_dir=tmp_path / name)), FastAPI)


def test_missing_secrets_are_generated_once_kept_private_and_shown_in_the_notes(
    tmp_path: Path,
) -> None:
    config = ExampleConfig(data_dir=tmp_path)
    first = resolve_secrets(config)
    assert first == resolve_secrets(config)  # a restart keeps them
    assert set(first.demo_users) == {"alice", "bob"}
    assert len(first.service_key) >= 24
    secrets_file = tmp_path / "dev-secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert first.service_key in EXAMPLES["todo-service"].notes(config)
    notes = EXAMPLES["todo-oauth"].notes(config)
    assert first.oauth_client_secret in notes
    assert first.demo_users["alice"] in notes
    # Secrets stay out of reprs, which end up in logs and tracebacks.
    assert first.service_key not in repr(first)
    given = ExampleConfig(data_dir=tmp_path, service_key="given-key")
    assert "given-key" not in repr(given)
    assert resolve_secrets(given).service_key == "given-key"


def test_a_corrupt_secrets_file_is_reported_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "dev-secrets.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="delete it"):
        resolve_secrets(ExampleConfig(data_dir=tmp_path))


def test_docs_describe_every_example_and_every_config_field() -> None:
    text = (ROOT / "docs" / "examples.md").read_text(encoding="utf-8")
    for name in EXAMPLES:
        assert f"`{name}`" in text, f"{name} is not in docs/examples.md"
    for field in dataclasses.fields(ExampleConfig):
        assert f"`{field.name}`" in text, f"ExampleConfig.{field.name} is not documented"
