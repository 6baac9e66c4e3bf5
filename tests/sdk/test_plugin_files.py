"""The plugin's own files (manifest, spec): rendered once per base URL, revalidated cheaply."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import pytest
import yaml

from tests.sdk.todo_plugin import BASE, build, client

pytestmark = pytest.mark.anyio

FILES = ["/.well-known/ai-plugin.json", "/openapi.yaml", "/openapi.json"]


@pytest.mark.parametrize("path", FILES)
async def test_a_second_request_with_the_etag_is_a_304_with_the_same_etag(path: str) -> None:
    async with client(build().app()) as http:
        first = await http.get(path)
        again = await http.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert first.status_code == 200
    assert first.headers["etag"].startswith('"')
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["last-modified"] == first.headers["last-modified"]


@pytest.mark.parametrize("path", FILES)
async def test_if_modified_since_the_last_modified_date_is_a_304(path: str) -> None:
    async with client(build().app()) as http:
        first = await http.get(path)
        modified = first.headers["last-modified"]
        same = await http.get(path, headers={"If-Modified-Since": modified})
        later = format_datetime(parsedate_to_datetime(modified) + timedelta(hours=1), usegmt=True)
        after = await http.get(path, headers={"If-Modified-Since": later})
        earlier = format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)
        before = await http.get(path, headers={"If-Modified-Since": earlier})
    assert (same.status_code, after.status_code) == (304, 304)
    assert same.headers["etag"] == first.headers["etag"]
    assert (before.status_code, before.content) == (200, first.content)


@pytest.mark.parametrize(
    "header",
    [
        '"stale"',
        "garbage",
        "",
    ],
)
async def test_a_non_matching_etag_gets_the_whole_document(header: str) -> None:
    async with client(build().app()) as http:
        first = await http.get("/openapi.yaml")
        other = await http.get("/openapi.yaml", headers={"If-None-Match": header})
    assert (other.status_code, other.content) == (200, first.content)
    assert other.headers["etag"] == first.headers["etag"]


@pytest.mark.parametrize("form", ["list", "weak", "star"])
async def test_if_none_match_is_read_as_a_list_of_weak_or_strong_tags(form: str) -> None:
    async with client(build().app()) as http:
        etag = (await http.get("/openapi.yaml")).headers["etag"]
        header = {"list": f'"a", {etag} , "b"', "weak": f"W/{etag}", "star": "*"}[form]
        again = await http.get("/openapi.yaml", headers={"If-None-Match": header})
    assert again.status_code == 304


async def test_if_none_match_wins_over_if_modified_since() -> None:
    # RFC 9110 §13.1.3: with If-None-Match present, If-Modified-Since is not evaluated.
    async with client(build().app()) as http:
        first = await http.get("/openapi.yaml")
        headers = {"If-None-Match": '"stale"', "If-Modified-Since": first.headers["last-modified"]}
        again = await http.get("/openapi.yaml", headers=headers)
    assert (again.status_code, again.content) == (200, first.content)


async def test_an_unreadable_if_modified_since_is_ignored() -> None:
    async with client(build().app()) as http:
        again = await http.get("/openapi.yaml", headers={"If-Modified-Since": "yesterday"})
    assert again.status_code == 200


async def test_each_base_url_gets_its_own_rendering_and_etag() -> None:
    app = build().app()
    other_base = "https://todo.acme.dev:8443"
    async with client(app) as http, client(app, base_url=other_base) as other:
        first = await http.get("/openapi.yaml")
        second = await other.get("/openapi.yaml")
        # The other host's tag does not revalidate this host's document.
        crossed = await http.get("/openapi.yaml", headers={"If-None-Match": second.headers["etag"]})
        manifest = (await other.get("/.well-known/ai-plugin.json")).json()
    assert first.headers["etag"] != second.headers["etag"]
    assert yaml.safe_load(first.text)["servers"] == [{"url": BASE}]
    assert yaml.safe_load(second.text)["servers"] == [{"url": other_base}]
    assert crossed.status_code == 200
    assert manifest["api"]["url"] == f"{other_base}/openapi.yaml"


async def test_the_documents_are_rendered_once_per_base_url() -> None:
    plugin = build()
    plugin.app()
    files = plugin.files(BASE)
    assert plugin.files(BASE + "/") is files
    assert plugin.files("https://todo.acme.dev") is not files


async def test_the_served_content_is_what_the_plugin_describes() -> None:
    plugin = build()
    async with client(plugin.app()) as http:
        spec_yaml = await http.get("/openapi.yaml")
        spec_json = await http.get("/openapi.json")
        manifest = await http.get("/.well-known/ai-plugin.json")
    assert spec_yaml.headers["content-type"].startswith("application/yaml")
    assert spec_json.headers["content-type"] == "application/json"
    assert manifest.headers["content-type"] == "application/json"
    expected = plugin.openapi(BASE)
    assert yaml.safe_load(spec_yaml.text) == expected
    assert spec_yaml.text == yaml.safe_dump(expected, sort_keys=False, allow_unicode=True)
    assert json.loads(spec_json.content) == expected
    assert manifest.json() == plugin.manifest(BASE)


async def test_many_host_names_do_not_grow_the_cache_without_bound() -> None:
    # The Host header is the caller's to choose: each name may not keep a rendering forever.
    plugin = build()
    plugin.app()
    first = plugin.files("https://h0.example.com")
    for number in range(1, 200):
        plugin.files(f"https://h{number}.example.com")
    assert plugin.files("https://h0.example.com") is not first
