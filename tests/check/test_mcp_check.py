"""`powerstrip check --mcp`: an MCP server's tool list held to the platform's rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from powerstrip.check import CheckReport, check_mcp_server
from powerstrip.cli import app
from powerstrip.mcp_client import McpTarget
from powerstrip.net import GuardedClient
from powerstrip.testing import LoopbackServer, TestCA, loopback_policy
from tests.mcp_sites import bad as bad_site
from tests.mcp_sites import notes as notes_site

pytestmark = pytest.mark.anyio

_GOOD, _BAD = "plugin.example.com", "api.example.com"


@pytest.fixture(scope="module")
def good(test_ca: TestCA) -> Iterator[LoopbackServer]:
    server = LoopbackServer(
        notes_site.app(notes_site.Notes()),
        ssl_context=test_ca.server_context(_GOOD),
        lifespan=True,
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bad(test_ca: TestCA) -> Iterator[LoopbackServer]:
    server = LoopbackServer(bad_site.app(), ssl_context=test_ca.server_context(_BAD), lifespan=True)
    server.start()
    yield server
    server.stop()


async def _check(server: LoopbackServer, name: str, ca_bundle: Path) -> CheckReport:
    policy = loopback_policy(server, (name,), ca_bundle=ca_bundle)
    async with GuardedClient(policy) as client:
        report, _ = await check_mcp_server(McpTarget(url=f"https://{name}/mcp"), client)
    return report


def _codes(report: CheckReport) -> list[tuple[str, str]]:
    return sorted((f.code, f.location) for f in report.findings if f.code != "PS509")


async def test_a_well_annotated_server_passes_and_the_unannotated_tool_is_named(
    good: LoopbackServer, ca_bundle: Path
) -> None:
    report = await _check(good, _GOOD, ca_bundle)
    assert report.ok
    assert _codes(report) == [("PS505", "tools.shout.annotations")]
    flags = {t.function_name: (t.method, t.consequential) for t in report.tools}
    assert flags == {
        "notes__list_notes": ("GET", False),
        "notes__add_note": ("POST", False),
        "notes__clear_notes": ("POST", True),
        "notes__shout": ("POST", True),
    }
    treatments = [f.message for f in report.findings if f.code == "PS509"]
    assert "notes__list_notes is called without asking (read-only)" in treatments


async def test_a_bad_server_gets_every_finding(bad: LoopbackServer, ca_bundle: Path) -> None:
    report = await _check(bad, _BAD, ca_bundle)
    assert not report.ok
    assert _codes(report) == [
        ("PS502", "tools.bad name!"),
        ("PS503", "tools.search"),
        ("PS504", "tools.nodesc.inputSchema"),
        ("PS505", "tools.nodesc.annotations"),
        ("PS505", "tools.search.annotations"),
        ("PS506", "tools.bad name!.annotations"),
        ("PS507", "tools.nodesc.description"),
        ("PS508", "instructions"),
        # "always use", and "instead of other tools".
        ("PS508", "tools.search.description"),
        ("PS508", "tools.search.description"),
    ]


async def test_an_unreachable_server_is_one_error(ca_bundle: Path, good: LoopbackServer) -> None:
    policy = loopback_policy(good, (_GOOD,), ca_bundle=ca_bundle)
    async with GuardedClient(policy) as client:
        report, info = await check_mcp_server(McpTarget(url="https://10.1.2.3/mcp"), client)
    assert info is None
    assert [f.code for f in report.findings] == ["PS500"]


def test_the_command_line_checks_an_mcp_server(
    good: LoopbackServer, bad: LoopbackServer, ca_bundle: Path
) -> None:
    env = {"COLUMNS": "200", "POWERSTRIP_ALLOW_HOSTS": f"{_GOOD},{_BAD}"}
    runner = CliRunner(env=env)
    base = [
        "--resolve",
        f"{_GOOD}:443=127.0.0.1:{good.port}",
        "--resolve",
        f"{_BAD}:443=127.0.0.1:{bad.port}",
        "--ca-bundle",
        str(ca_bundle),
    ]
    passed = runner.invoke(app, ["check", "--mcp", f"https://{_GOOD}/mcp", *base])
    assert passed.exit_code == 0, passed.output
    assert "PS505" in passed.output
    assert "notes__clear_notes" in passed.output
    failed = runner.invoke(app, ["check", "--mcp", "--json", f"https://{_BAD}/mcp", *base])
    assert failed.exit_code == 1, failed.output
    report = json.loads(failed.stdout)
    assert "PS503" in {f["code"] for f in report["findings"]}
