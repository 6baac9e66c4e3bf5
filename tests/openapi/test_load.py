"""load_spec: formats, what is not a spec, and version mistakes."""

from __future__ import annotations

import json

import pytest

from powerstrip.errors import SpecError
from powerstrip.findings import Severity
from powerstrip.openapi import load_spec

from .builders import codes, document, only

YAML_SPEC = """\
openapi: 3.0.1
info: {title: Todo, version: '1'}
paths:
  /todos:
    get:
      operationId: getTodos
      responses: {'200': {description: OK}}
"""


def test_yaml_is_parsed_and_normalised() -> None:
    spec = load_spec(YAML_SPEC, source="openapi.yaml")
    assert spec.source_format == "yaml"
    assert spec.version == "3.0.1"
    assert spec.major_minor == "3.0"
    assert spec.document["paths"]["/todos"]["get"]["operationId"] == "getTodos"
    assert spec.findings == ()


def test_json_is_parsed_from_bytes_with_bom() -> None:
    spec = load_spec(b"\xef\xbb\xbf" + json.dumps(document()).encode(), source="spec.json")
    assert spec.source_format == "json"
    assert spec.findings == ()


def test_json_in_a_yaml_file_is_reported_as_info() -> None:
    spec = load_spec(json.dumps(document()), source="openapi.yaml")
    finding = only(spec.findings, "PS302")
    assert finding.severity is Severity.INFO
    assert "JSON" in finding.message
    assert "openapi.yaml" in finding.message


def test_yaml_served_as_json_content_type_is_reported() -> None:
    spec = load_spec(YAML_SPEC, source="spec", content_type="application/json; charset=utf-8")
    assert "application/json" in only(spec.findings, "PS302").message


def test_uninformative_name_and_content_type_report_nothing() -> None:
    spec = load_spec(YAML_SPEC, source="https://x.test/spec", content_type="text/plain")
    assert spec.findings == ()


def test_dates_stay_strings() -> None:
    text = YAML_SPEC + "components:\n  schemas:\n    D: {type: string, default: 2023-05-01}\n"
    spec = load_spec(text)
    assert spec.document["components"]["schemas"]["D"]["default"] == "2023-05-01"
    tagged = YAML_SPEC + "x-when: !!timestamp 2023-05-01T10:00:00Z\n"
    assert load_spec(tagged).document["x-when"] == "2023-05-01T10:00:00Z"


@pytest.mark.parametrize(
    ("body", "expected_quote"),
    [
        ("", "''"),
        ("  \n\n", "''"),
        ("<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title>", "<!DOCTYPE html>\\n<html>"),
        ("<html>\n<head><title>403 Forbidden</title></head>", "<html>\\n<head>"),
        ('{\n  "message": "Forbidden"\n}', '{\\n  "message": "Forbidden"\\n}'),
        ('{"error":"Unauthorized"}', '{"error":"Unauthorized"}'),
        ('{"detail":"Access Denied."}', '{"detail":"Access Denied."}'),
        ("404 page not found\n", "404 page not found"),
        ("The deployment could not be found on Vercel.\n\nDEPLOYMENT_NOT_FOUND\n", "Vercel."),
        ("42", "42"),
        ("- a\n- b\n", "- a\\n- b"),
        ("[1, 2]", "[1, 2]"),
        ("null", "null"),
        ('{"hello": "world"}', '{"hello": "world"}'),
    ],
)
def test_what_is_not_a_spec_is_rejected_with_the_body_quoted(
    body: str, expected_quote: str
) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(body, source="openapi.yaml")
    error = caught.value
    finding = only(error.findings, "PS300")
    assert finding.severity is Severity.ERROR
    assert finding.location == "spec"
    assert finding.fix
    assert expected_quote in finding.message
    assert expected_quote in str(error)


def test_html_title_is_named() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec("<html><head><title>502 Bad Gateway</title></head></html>")
    assert "'502 Bad Gateway'" in caught.value.findings[0].message


def test_long_bodies_are_quoted_short_on_one_line() -> None:
    body = "<!DOCTYPE html>\n" + "<p>x</p>\n" * 500
    with pytest.raises(SpecError) as caught:
        load_spec(body)
    message = caught.value.findings[0].message
    assert "\n" not in message
    assert len(message) < 300


def test_syntax_error_is_ps301_and_quotes_the_body() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec("openapi: 3.0.1\npaths: [unclosed\n  - x: {")
    finding = only(caught.value.findings, "PS301")
    assert "openapi: 3.0.1\\npaths" in finding.message


@pytest.mark.parametrize("prefix", ["", "openapi: "])
def test_deeply_nested_text_is_a_syntax_error_not_a_crash(prefix: str) -> None:
    # libyaml recurses in C and would kill the process at this depth: the guard must catch it.
    with pytest.raises(SpecError) as caught:
        load_spec(prefix + "[" * 60_000 + "]" * 60_000)
    assert "PS301" in codes(caught.value.findings)


@pytest.mark.parametrize(("raw", "normalised"), [(3.0, "3.0"), (3.1, "3.1")])
def test_numeric_version_is_a_warning_and_becomes_a_string(raw: float, normalised: str) -> None:
    spec = load_spec(YAML_SPEC.replace("openapi: 3.0.1", f"openapi: {raw}"))
    finding = only(spec.findings, "PS303")
    assert finding.severity is Severity.WARNING
    assert finding.location == "spec.openapi"
    assert spec.document["openapi"] == normalised
    assert spec.major_minor == normalised
    assert "PS304" not in codes(spec.findings)


@pytest.mark.parametrize(
    ("raw", "major_minor"),
    [("3.1.3", "3.1"), ("3.0.9", "3.0"), ("3.0", "3.0"), ("3.2.0", "3.1")],
)
def test_nonexistent_version_is_read_as_the_nearest_minor(raw: str, major_minor: str) -> None:
    spec = load_spec(YAML_SPEC.replace("openapi: 3.0.1", f"openapi: '{raw}'"))
    finding = only(spec.findings, "PS304")
    assert raw in finding.message
    assert spec.major_minor == major_minor
    assert spec.version == raw


@pytest.mark.parametrize("raw", ['"\\"3.1.0\\""', "' 3.0.1 '", "v3.0.1"])
def test_quoted_oddities_are_tolerated(raw: str) -> None:
    spec = load_spec(YAML_SPEC.replace("openapi: 3.0.1", f"openapi: {raw}"))
    assert "PS304" in codes(spec.findings)
    assert spec.version in ("3.1.0", "3.0.1")
    assert spec.document["openapi"] == spec.version


@pytest.mark.parametrize("key", ["openap", "openAPI", "OpenAPI", "opnapi", "open_api"])
def test_misspelt_openapi_key_is_tolerated(key: str) -> None:
    spec = load_spec(YAML_SPEC.replace("openapi:", f"{key}:"))
    finding = only(spec.findings, "PS305")
    assert key in finding.message
    assert spec.document["openapi"] == "3.0.1"
    assert key not in spec.document


def test_misspelt_key_without_paths_is_not_guessed() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec("openAPI: 3.0.1\ninfo: {title: x}\n")
    assert "PS306" in codes(caught.value.findings)


@pytest.mark.parametrize(
    ("text", "seen"),
    [
        ('swagger: "2.0"\ninfo: {title: x}\npaths: {}\n', "Swagger 2.0"),
        ("openapi: 2.0.0\npaths: {}\n", "2.0.0"),
        ("openapi: 4.0.0\npaths: {}\n", "4.0.0"),
        ("info: {title: x}\npaths: {}\n", "no `openapi`"),
        ("openapi: latest\npaths: {}\n", "latest"),
        ("openapi: 3\npaths: {}\n", "'3'"),
        ("openapi: [3]\npaths: {}\n", "[3]"),
    ],
)
def test_unsupported_or_missing_version_is_an_error(text: str, seen: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(text)
    finding = only(caught.value.findings, "PS306")
    assert finding.severity is Severity.ERROR
    assert seen in finding.message
    assert finding.fix
    # The error itself quotes the start of the body too.
    assert text.split("\n", 1)[0] in str(caught.value)


def test_document_keeps_every_other_key_untouched() -> None:
    doc = document()
    spec = load_spec(json.dumps(doc))
    assert {k: v for k, v in spec.document.items() if k != "openapi"} == {
        k: v for k, v in doc.items() if k != "openapi"
    }
