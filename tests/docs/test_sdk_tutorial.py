"""docs/sdk.md's tutorial is a real file: it is short, it serves, and it passes `check`."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from powerstrip.check import check_url
from powerstrip.net import GuardedClient
from powerstrip.testing import loopback_policy
from tests.conftest import ServeApp

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "examples" / "sdk_tutorial.py"

pytestmark = pytest.mark.anyio


def load_tutorial() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sdk_tutorial", TUTORIAL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_tutorial_is_under_30_lines_and_is_what_the_docs_show() -> None:
    code = TUTORIAL.read_text(encoding="utf-8")
    assert len(code.splitlines()) < 30 + 5  # the code itself; blank lines between blocks
    assert sum(1 for line in code.splitlines() if line.strip()) < 30
    assert code in (ROOT / "docs" / "sdk.md").read_text(encoding="utf-8")


async def test_the_tutorial_plugin_works_and_passes_check(
    serve_app: ServeApp, ca_bundle: Path
) -> None:
    server = serve_app(load_tutorial().app)
    policy = loopback_policy(server, ["plugin.example.com"], ca_bundle=ca_bundle)
    async with GuardedClient(policy) as client:
        report = await check_url("https://plugin.example.com", client, dev_mode=False)
        assert (report.errors, report.warnings) == (0, 0), report.sorted_findings()
        assert sorted(t.function_name for t in report.tools) == [
            "notes__add_note",
            "notes__list_notes",
        ]
        headers = {"openai-ephemeral-user-id": "u-1", "content-type": "application/json"}
        added = await client.request(
            "POST", "https://plugin.example.com/notes", json={"text": "milk"}, headers=headers
        )
        listed = await client.request("GET", "https://plugin.example.com/notes", headers=headers)
    assert added.status_code == 200
    assert json.loads(listed.content) == ["milk"]
