"""Finding the manifest URL from what a user typed (spec §1)."""

from __future__ import annotations

import pytest

from powerstrip.errors import DiscoveryError
from powerstrip.plugin import manifest_url_for, spec_url_for


@pytest.mark.parametrize(
    ("target", "url"),
    [
        ("example.com", "https://example.com/.well-known/ai-plugin.json"),
        ("https://example.com", "https://example.com/.well-known/ai-plugin.json"),
        ("https://example.com/", "https://example.com/.well-known/ai-plugin.json"),
        ("https://example.com/base/", "https://example.com/base/.well-known/ai-plugin.json"),
        (
            "https://example.com/.well-known/ai-plugin.json",
            "https://example.com/.well-known/ai-plugin.json",
        ),
        ("https://example.com/custom/manifest.json", "https://example.com/custom/manifest.json"),
        ("localhost:5003", "http://localhost:5003/.well-known/ai-plugin.json"),
        ("127.0.0.1:8080/", "http://127.0.0.1:8080/.well-known/ai-plugin.json"),
        ("  example.com  ", "https://example.com/.well-known/ai-plugin.json"),
    ],
)
def test_manifest_url_for_each_kind_of_target(target: str, url: str) -> None:
    assert manifest_url_for(target) == url


@pytest.mark.parametrize("target", ["", "ftp://example.com", "not a domain", "https://"])
def test_a_target_that_is_no_address_is_refused(target: str) -> None:
    with pytest.raises(DiscoveryError) as caught:
        manifest_url_for(target)
    assert caught.value.fix


def test_relative_api_url_resolves_against_the_manifest() -> None:
    manifest = "https://example.com/.well-known/ai-plugin.json"
    assert spec_url_for(manifest, "/openapi.yaml") == "https://example.com/openapi.yaml"
    assert spec_url_for(manifest, "https://api.example.com/o.json") == (
        "https://api.example.com/o.json"
    )
