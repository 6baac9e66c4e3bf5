"""Every registered example passes `powerstrip check` with no error and no warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from powerstrip.check import check_url
from powerstrip.examples import EXAMPLES, ExampleConfig
from powerstrip.net import GuardedClient
from powerstrip.testing import loopback_policy
from tests.examples.conftest import ServeExample

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("name", sorted(EXAMPLES))
async def test_the_example_passes_check(
    serve_example: ServeExample, config: ExampleConfig, ca_bundle: Path, name: str
) -> None:
    server = serve_example(name, config)
    policy = loopback_policy(server, ["plugin.example.com"], ca_bundle=ca_bundle)
    async with GuardedClient(policy) as client:
        report = await check_url("https://plugin.example.com", client, dev_mode=False)
    findings = "\n".join(
        f"{f.severity} {f.code} {f.location}: {f.message}" for f in report.findings
    )
    assert report.manifest is not None, findings
    assert report.tools, findings
    assert report.errors == 0, findings
    assert report.warnings == 0, findings
