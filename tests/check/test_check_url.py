"""`check` against real HTTPS plugin sites on loopback, reached by real-looking names."""

from __future__ import annotations

from pathlib import Path

import pytest

from powerstrip.check import CheckReport, check_url
from powerstrip.net import GuardedClient, NetPolicy
from powerstrip.testing import LoopbackServer, loopback_policy
from tests.check import plugin_site
from tests.conftest import ServeApp

pytestmark = pytest.mark.anyio

NAMES = ("plugin.example.com", "www.example.com", "example.com", "api.example.com")


@pytest.fixture(scope="module")
def site(serve_app: ServeApp) -> LoopbackServer:
    return serve_app(plugin_site.app)


async def run(site: LoopbackServer, ca_bundle: Path, target: str) -> CheckReport:
    policy = loopback_policy(site, NAMES, ca_bundle=ca_bundle)
    async with GuardedClient(policy) as client:
        return await check_url(target, client, dev_mode=False)


def codes(report: CheckReport) -> set[str]:
    return {f.code for f in report.findings}


async def test_a_good_plugin_lists_its_operations(site: LoopbackServer, ca_bundle: Path) -> None:
    report = await run(site, ca_bundle, "plugin.example.com")
    assert report.errors == 0
    assert report.manifest_url == "https://plugin.example.com/.well-known/ai-plugin.json"
    assert report.root_domain == "plugin.example.com"
    assert [t.function_name for t in report.tools] == ["todo__listTodos", "todo__addTodo"]
    listing, adding = report.tools
    assert (listing.consequential, listing.consequential_declared) == (False, None)
    assert (adding.consequential, adding.consequential_declared) == (False, False)
    assert adding.parameters["required"] == ["todo"]


async def test_server_choice_takes_the_first_server_on_the_root_domain(
    site: LoopbackServer, ca_bundle: Path
) -> None:
    report = await run(site, ca_bundle, "https://example.com")
    assert report.root_domain == "example.com"
    assert report.api_base_url == "https://api.example.com/v1"


async def test_root_domain_strips_www_after_the_allowed_redirect(
    site: LoopbackServer, ca_bundle: Path
) -> None:
    report = await run(site, ca_bundle, "https://www.example.com")
    assert report.root_domain == "example.com"
    redirected = [f for f in report.findings if f.code == "PS009"]
    assert redirected
    assert "https://www.example.com/.well-known/ai-plugin.json" in redirected[0].message
    assert report.errors == 0


async def test_a_redirect_to_a_child_subdomain_is_followed(
    site: LoopbackServer, ca_bundle: Path
) -> None:
    report = await run(site, ca_bundle, "https://example.com/to-child")
    assert report.manifest is not None
    assert report.root_domain == "api.example.com"


async def test_a_redirect_to_another_site_is_refused_naming_both_hosts(
    site: LoopbackServer, ca_bundle: Path
) -> None:
    report = await run(site, ca_bundle, "https://example.com/to-other")
    [finding] = report.findings
    assert finding.code == "PS005"
    assert "example.com" in finding.message
    assert "evil.example.net" in finding.message
    assert report.manifest is None


async def test_a_redirect_to_a_private_address_is_refused(
    site: LoopbackServer, ca_bundle: Path
) -> None:
    report = await run(site, ca_bundle, "https://example.com/to-private")
    [finding] = report.findings
    assert finding.code == "PS005"
    assert "10.0.0.7" in finding.message


async def test_contact_email_on_another_domain_is_an_error(
    site: LoopbackServer, ca_bundle: Path
) -> None:
    report = await run(site, ca_bundle, "https://example.com/gmail")
    [finding] = [f for f in report.findings if f.code == "PS201"]
    assert finding.location == "contact_email"
    assert "gmail.com" in finding.message
    assert "example.com" in finding.fix


async def test_a_missing_manifest_quotes_what_came_back(
    site: LoopbackServer, ca_bundle: Path
) -> None:
    report = await run(site, ca_bundle, "https://example.com/missing")
    [finding] = report.findings
    assert finding.code == "PS002"
    assert "404" in finding.message
    assert "404 page not found" in finding.message


async def test_an_html_spec_is_rejected_with_its_start_quoted(
    site: LoopbackServer, ca_bundle: Path
) -> None:
    report = await run(site, ca_bundle, "https://example.com/html-spec")
    assert report.spec_url == "https://example.com/broken.yaml"
    errors = [f for f in report.findings if f.severity == "error"]
    assert errors
    assert any("502 Bad Gateway" in f.message for f in errors)
    assert report.tools == []


async def test_steering_is_warned_about_in_manifest_and_spec(
    site: LoopbackServer, ca_bundle: Path
) -> None:
    report = await run(site, ca_bundle, "https://example.com/steer")
    assert {"PS401", "PS402"} <= codes(report)
    spec_warning = next(f for f in report.findings if f.code == "PS402")
    assert spec_warning.location.startswith("spec.paths")


async def test_an_untrusted_plugin_certificate_is_a_tls_finding(site: LoopbackServer) -> None:
    policy = loopback_policy(site, NAMES)  # the default trust store does not know the test CA
    async with GuardedClient(policy) as client:
        report = await check_url("plugin.example.com", client, dev_mode=False)
    [finding] = report.findings
    assert finding.code == "PS003"


async def test_dev_mode_checks_a_plain_http_plugin_on_localhost(serve_app: ServeApp) -> None:
    local = serve_app(plugin_site.app, tls=False)
    async with GuardedClient(NetPolicy(dev_mode=True)) as client:
        report = await check_url(f"localhost:{local.port}", client, dev_mode=True)
    assert report.manifest_url == f"http://localhost:{local.port}/.well-known/ai-plugin.json"
    assert report.errors == 0
    assert len(report.tools) == 2
    # Domain rules make no sense for a plugin on this machine: said, not silently skipped.
    assert "PS208" in codes(report)


async def test_without_dev_mode_a_local_plugin_is_refused(serve_app: ServeApp) -> None:
    local = serve_app(plugin_site.app, tls=False)
    async with GuardedClient(NetPolicy()) as client:
        report = await check_url(f"http://127.0.0.1:{local.port}", client, dev_mode=False)
    [finding] = report.findings
    assert finding.code == "PS003"
    assert "https" in finding.message
    assert f"127.0.0.1:{local.port}" in finding.message
