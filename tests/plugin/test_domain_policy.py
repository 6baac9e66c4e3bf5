"""The domain policy of spec §3 as pure functions."""

from __future__ import annotations

import pytest

from powerstrip.plugin import (
    choose_api_base_url,
    email_domain,
    manifest_redirect_allowed,
    registrable_domain,
    root_domain,
    same_registrable_domain,
)


@pytest.mark.parametrize(
    ("host", "root"),
    [
        ("www.example.com", "example.com"),
        ("WWW.Example.COM.", "example.com"),
        ("api.example.com", "api.example.com"),
        ("www.com", "www.com"),
        ("example.com", "example.com"),
    ],
)
def test_root_domain_strips_a_leading_www(host: str, root: str) -> None:
    assert root_domain(host) == root


@pytest.mark.parametrize(
    ("host", "registrable"),
    [
        ("api.acme.com", "acme.com"),
        ("acme.com", "acme.com"),
        ("shop.acme.co.uk", "acme.co.uk"),
        ("my-plugin.vercel.app", "my-plugin.vercel.app"),
        ("127.0.0.1", "127.0.0.1"),
        ("localhost", "localhost"),
    ],
)
def test_registrable_domain_follows_the_public_suffix_list(host: str, registrable: str) -> None:
    assert registrable_domain(host) == registrable


def test_contact_email_fits_a_subdomain_of_the_same_site() -> None:
    assert same_registrable_domain(email_domain("help@acme.com"), "api.acme.com")
    assert not same_registrable_domain(email_domain("help@gmail.com"), "api.acme.com")
    # A hosting suffix is not one site: another app on vercel.app is someone else.
    assert not same_registrable_domain("other.vercel.app", "mine.vercel.app")
    assert email_domain("nobody") == ""


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        ("https://example.com/.well-known/ai-plugin.json", "https://api.example.com/x", True),
        ("https://www.example.com/a", "https://example.com/a", True),
        ("https://example.com/a", "https://example.com/b", True),
        ("https://example.com/a", "https://www.example.com/a", True),
        ("https://example.com/a", "https://evil.com/a", False),
        ("https://api.example.com/a", "https://example.com/a", False),
        ("https://example.com/a", "https://notexample.com/a", False),
        ("https://www.example.com/a", "https://other.com/a", False),
        ("https://example.com/a", "http://api.example.com/a", False),
    ],
)
def test_manifest_redirect_rule(source: str, target: str, allowed: bool) -> None:
    assert manifest_redirect_allowed(source, target) is allowed


def test_api_base_url_takes_the_first_server_on_the_root_domain() -> None:
    choice = choose_api_base_url(
        ["https://other.com/v1", "https://api.example.com/v1/", "https://example.com"],
        "https://example.com/openapi.yaml",
        "example.com",
    )
    assert choice.url == "https://api.example.com/v1"
    assert choice.from_servers
    assert choice.on_root_domain


def test_relative_servers_resolve_against_the_spec_url() -> None:
    choice = choose_api_base_url(["/api"], "https://example.com/specs/openapi.yaml", "example.com")
    assert choice.url == "https://example.com/api"


def test_without_a_fitting_server_the_spec_host_is_used() -> None:
    choice = choose_api_base_url(
        ["https://elsewhere.net"], "https://plugin.example.com:443/openapi.yaml", "example.com"
    )
    assert choice.url == "https://plugin.example.com:443"
    assert not choice.from_servers
    assert choice.on_root_domain
