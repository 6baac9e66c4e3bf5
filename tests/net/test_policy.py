"""Parsing the operator's policy: resolve overrides, the allowlist, and NetPolicy.from_settings."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import httpx
import pytest

from powerstrip.errors import ConfigError, TLSPolicyError
from powerstrip.net import AllowEntry, AllowList, NetPolicy, ResolveRule
from powerstrip.net.policy import check_url
from powerstrip.settings import Settings


@pytest.mark.parametrize(
    ("text", "host", "address", "port", "to_port"),
    [
        ("plugin.example.com=127.0.0.1", "plugin.example.com", "127.0.0.1", None, None),
        ("Plugin.Example.com=127.0.0.1:8443", "plugin.example.com", "127.0.0.1", None, 8443),
        ("plugin.example.com:443=127.0.0.1:8443", "plugin.example.com", "127.0.0.1", 443, 8443),
        ("api.example.com=[::1]", "api.example.com", "::1", None, None),
        ("api.example.com:443=[::1]:9000", "api.example.com", "::1", 443, 9000),
        ("[::1]:443=[::1]:9000", "::1", "::1", 443, 9000),
    ],
)
def test_resolve_rule_parses_every_form(
    text: str, host: str, address: str, port: int | None, to_port: int | None
) -> None:
    rule = ResolveRule.parse(text)
    assert (rule.host, rule.address, rule.port, rule.to_port) == (
        host,
        ipaddress.ip_address(address),
        port,
        to_port,
    )


@pytest.mark.parametrize(
    "text",
    [
        "plugin.example.com",
        "=127.0.0.1",
        "plugin.example.com=",
        "plugin.example.com=not-an-ip",
        "plugin.example.com=::1",
        "plugin.example.com=127.0.0.1:99999",
        "plugin.example.com:abc=127.0.0.1",
        "plugin.example.com=[::1",
    ],
)
def test_resolve_rule_rejects_malformed_entries(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ResolveRule.parse(text)
    assert caught.value.fix


def test_resolve_rule_matches_host_and_port() -> None:
    rule = ResolveRule.parse("plugin.example.com:443=127.0.0.1:8443")
    assert rule.matches("PLUGIN.example.com.", 443)
    assert not rule.matches("plugin.example.com", 80)
    assert not rule.matches("api.example.com", 443)


def test_allowlist_matches_names_wildcards_and_networks() -> None:
    allow = AllowList.parse(
        [
            "intranet.example.com",
            "*.corp.example",
            "10.1.0.0/16=intranet.example.com",
            "fd00::/8=*.corp.example",
        ]
    )
    private = ipaddress.ip_address("10.9.9.9")
    assert allow.permits("intranet.example.com", private)
    assert allow.permits("a.b.corp.example", private)
    assert not allow.permits("corp.example", private)
    assert not allow.permits("evilcorp.example", private)
    assert allow.permits("anything", ipaddress.ip_address("10.1.2.3"), "intranet.example.com")
    assert allow.permits("anything", ipaddress.ip_address("fd00::5"), "a.corp.example")
    assert not allow.permits("anything", private, "intranet.example.com")


def test_an_allowance_opens_a_destination_for_its_own_plugin_only() -> None:
    private = ipaddress.ip_address("10.9.9.9")
    allow = AllowList.parse(
        ["intranet.example.com", "10.1.0.0/16=tools.example.org", "db.internal=*.example.org"]
    )
    # A bare host is opened for the plugin it belongs to: its manifest host, or that host's
    # root domain and subdomains (api.intranet.example.com for intranet.example.com).
    assert allow.permits("intranet.example.com", private, "intranet.example.com")
    assert allow.permits("intranet.example.com", private, "www.intranet.example.com")
    assert not allow.permits("intranet.example.com", private, "evil.example.net")
    assert not allow.permits("intranet.example.com", private, "example.com.evil.net")
    # A network or a host with `=SITE` is opened for the plugins served from SITE only.
    inside = ipaddress.ip_address("10.1.2.3")
    assert allow.permits("anything", inside, "tools.example.org")
    assert not allow.permits("anything", inside, "evil.example.net")
    assert allow.permits("db.internal", private, "a.example.org")
    assert not allow.permits("db.internal", private, "example.org.evil.net")


def test_a_network_without_its_plugin_is_refused_as_open_to_every_plugin() -> None:
    with pytest.raises(ConfigError, match="to every plugin") as caught:
        AllowList.parse(["10.0.0.0/8"])
    assert caught.value.fix is not None
    assert "10.0.0.0/8=PLUGIN-HOST" in caught.value.fix


@pytest.mark.parametrize(
    "entry", ["10.0.0.0/33=a.example", "bad host!", "*.", "a.*.b", "a.example=bad site!"]
)
def test_allowlist_rejects_malformed_entries(entry: str) -> None:
    with pytest.raises(ConfigError, match="allowlist entry"):
        AllowList.parse([entry])


def test_from_settings_builds_the_policy(tmp_path: Path) -> None:
    settings = Settings(
        dev_mode=True,
        ca_bundle=tmp_path / "ca.pem",
        resolve=["plugin.example.com:443=127.0.0.1:8443"],
        allow_hosts=["plugin.example.com", "10.0.0.0/8=plugin.example.com"],
        fetch_timeout=3,
        call_timeout=4,
        max_response_bytes=1000,
        max_redirects=2,
    )
    policy = NetPolicy.from_settings(settings)
    assert policy.dev_mode
    assert policy.ca_bundle == tmp_path / "ca.pem"
    assert policy.resolve == (ResolveRule.parse("plugin.example.com:443=127.0.0.1:8443"),)
    assert policy.allow.entries == (
        AllowEntry(host="plugin.example.com"),
        AllowEntry(network=ipaddress.ip_network("10.0.0.0/8"), site="plugin.example.com"),
    )
    assert (policy.fetch_timeout, policy.call_timeout) == (3, 4)
    assert (policy.max_response_bytes, policy.max_redirects) == (1000, 2)


def test_from_settings_reads_comma_separated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERSTRIP_RESOLVE", "a.example.com=127.0.0.1, b.example.com=[::1]:8443")
    monkeypatch.setenv("POWERSTRIP_ALLOW_HOSTS", "*.corp.example")
    policy = NetPolicy.from_settings(Settings())
    assert [rule.host for rule in policy.resolve] == ["a.example.com", "b.example.com"]
    assert policy.allow.entries == (AllowEntry(host="*.corp.example"),)


@pytest.mark.parametrize(
    ("field", "value"), [("resolve", ["oops"]), ("allow_hosts", ["300.0.0.0/8"])]
)
def test_from_settings_rejects_malformed_values(field: str, value: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        NetPolicy.from_settings(Settings(**{field: value}))
    assert caught.value.where == field
    assert caught.value.fix


@pytest.mark.parametrize(
    ("url", "dev_mode", "allowed"),
    [
        ("https://plugin.example.com/", False, True),
        ("https://plugin.example.com:443/", False, True),
        ("http://plugin.example.com/", False, False),
        ("https://plugin.example.com:8443/", False, False),
        ("ftp://plugin.example.com/", False, False),
        ("http://localhost:8000/", False, False),
        ("http://localhost:8000/", True, True),
        ("http://127.0.0.1:8000/", True, True),
        ("http://[::1]:8000/", True, True),
        ("https://localhost:8443/", True, True),
        ("http://plugin.example.com/", True, False),
        ("http://127.0.0.2:8000/", True, False),
        ("https://plugin.example.com:8443/", True, False),
    ],
)
def test_check_url_enforces_scheme_and_port(url: str, dev_mode: bool, allowed: bool) -> None:
    policy = NetPolicy(dev_mode=dev_mode)
    if allowed:
        check_url(policy, httpx.URL(url))
    else:
        with pytest.raises(TLSPolicyError) as caught:
            check_url(policy, httpx.URL(url))
        assert caught.value.fix
