"""The client's URL parsing: a site's plain URL is parsed once, a URL that may carry a credential
is never kept, and a URL that does not parse fails every time."""

from __future__ import annotations

import httpx
import pytest

from powerstrip.errors import TLSPolicyError
from powerstrip.net.client import _parse_plain_url, _parse_site_url


def test_a_plain_site_url_is_parsed_once_and_the_same_each_time() -> None:
    url = "https://plugin.example.com/.well-known/ai-plugin.json"
    first = _parse_plain_url(url)
    assert _parse_plain_url(url) is first
    assert first == httpx.URL(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://plugin.example.com/openapi.yaml?key=s3cret",
        "https://user:s3cret@plugin.example.com/openapi.yaml",
        "https://plugin.example.com/openapi.yaml#access_token=s3cret",
    ],
)
def test_a_url_that_may_carry_a_credential_is_never_kept(url: str) -> None:
    before = _parse_site_url.cache_info().currsize
    assert _parse_plain_url(url) == httpx.URL(url)
    assert _parse_site_url.cache_info().currsize == before


def test_a_url_that_does_not_parse_fails_every_time() -> None:
    for _ in range(2):
        with pytest.raises(TLSPolicyError):
            _parse_plain_url("https://xn--localhost/")
