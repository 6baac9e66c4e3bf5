"""The lenient manifest reader: every problem in one pass, with location, limit and value."""

from __future__ import annotations

import json
from typing import Any

import pytest

from powerstrip.findings import Severity
from powerstrip.plugin import AuthType, OAuthAuth, ServiceHttpAuth, parse_manifest


def manifest(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schema_version": "v1",
        "name_for_human": "TODO List",
        "name_for_model": "todo",
        "description_for_human": "Manage your TODO list.",
        "description_for_model": "Manages a TODO list.",
        "auth": {"type": "none"},
        "api": {"type": "openapi", "url": "https://example.com/openapi.yaml"},
        "logo_url": "https://example.com/logo.png",
        "contact_email": "support@example.com",
        "legal_info_url": "https://example.com/legal",
    }
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def codes(report: Any) -> list[str]:
    return [f.code for f in report.findings]


def test_a_good_manifest_has_no_findings() -> None:
    report = parse_manifest(json.dumps(manifest()))
    assert report.findings == ()
    assert report.manifest is not None
    assert report.manifest.auth.type is AuthType.NONE


def test_every_problem_is_reported_in_one_pass() -> None:
    raw = manifest(
        name_for_human="A" * 35,
        name_for_model="my-plugin!",
        description_for_human="d" * 127,
        schema_version="v2",
        contact_email="not-an-email",
    )
    report = parse_manifest(raw)
    assert sorted(codes(report)) == ["PS101", "PS102", "PS104", "PS105", "PS113"]
    too_long = next(f for f in report.findings if f.code == "PS102")
    assert too_long.location == "name_for_human"
    assert "35 characters" in too_long.message
    assert "limit is 20" in too_long.message
    assert too_long.value == "A" * 35
    charset = next(f for f in report.findings if f.code == "PS104")
    assert "'-'" in charset.message
    assert "'!'" in charset.message
    assert "my_plugin_" in charset.fix
    # Length and charset breaches leave the manifest usable, for the host's lenient mode.
    assert report.manifest is not None


@pytest.mark.parametrize(
    ("field", "limit", "code"),
    [
        ("name_for_human", 20, "PS102"),
        ("name_for_model", 50, "PS103"),
        ("description_for_human", 100, "PS105"),
        ("description_for_model", 8000, "PS106"),
    ],
)
def test_each_length_limit_is_exact(field: str, limit: int, code: str) -> None:
    assert code not in codes(parse_manifest(manifest(**{field: "a" * limit})))
    report = parse_manifest(manifest(**{field: "a" * (limit + 1)}))
    [finding] = [f for f in report.findings if f.code == code]
    assert finding.location == field
    assert f"limit is {limit}" in finding.message


def test_missing_and_mistyped_fields_are_named() -> None:
    report = parse_manifest(manifest(name_for_model=None, logo_url=42))
    found = {(f.code, f.location) for f in report.findings}
    assert ("PS107", "name_for_model") in found
    assert ("PS108", "logo_url") in found
    assert report.manifest is None


def test_unknown_keys_are_kept_and_warned_about() -> None:
    raw = manifest(x_custom={"a": 1})
    raw["api"]["is_user_authenticated"] = False
    raw["api"]["has_user_authentication"] = True
    report = parse_manifest(raw)
    by_code = {f.code: f for f in report.findings}
    assert by_code["PS110"].location == "x_custom"
    assert by_code["PS110"].severity is Severity.WARNING
    deprecated = [f.location for f in report.findings if f.code == "PS111"]
    assert deprecated == ["api.is_user_authenticated", "api.has_user_authentication"]
    assert report.manifest is not None
    assert report.manifest.extra == {"x_custom": {"a": 1}}


def test_oauth_fields_are_checked_with_their_locations() -> None:
    report = parse_manifest(
        manifest(
            auth={
                "type": "oauth",
                "client_url": "not a url",
                "scope": "",
                "authorization_content_type": "text/plain",
                "verification_tokens": {"openai": "abc"},
            }
        )
    )
    found = {(f.code, f.location) for f in report.findings}
    assert ("PS122", "auth.client_url") in found
    assert ("PS122", "auth.authorization_url") in found
    assert ("PS123", "auth.authorization_content_type") in found
    assert report.manifest is None


def test_a_good_oauth_manifest_is_typed() -> None:
    report = parse_manifest(
        manifest(
            auth={
                "type": "oauth",
                "instructions": "",
                "client_url": "https://example.com/authorize",
                "authorization_url": "https://example.com/token",
                "scope": "read",
                "authorization_content_type": "Application/JSON",
                "verification_tokens": {"openai": "abc", "powerstrip": "def"},
            }
        )
    )
    assert report.findings == ()
    auth = report.manifest.auth if report.manifest else None
    assert isinstance(auth, OAuthAuth)
    assert auth.authorization_content_type == "application/json"
    assert report.manifest is not None
    assert report.manifest.verification_token("powerstrip") == "def"
    assert report.manifest.verification_token("other") == "abc"


def test_service_http_needs_a_known_authorization_type() -> None:
    bad = parse_manifest(manifest(auth={"type": "service_http", "authorization_type": "digest"}))
    assert {"PS121", "PS124"} <= set(codes(bad))
    good = parse_manifest(
        manifest(
            auth={
                "type": "service_http",
                "authorization_type": "Bearer",
                "verification_tokens": {"openai": "t"},
            }
        )
    )
    assert good.findings == ()
    assert isinstance(good.manifest and good.manifest.auth, ServiceHttpAuth)


def test_fields_a_scheme_does_not_use_are_warned_about() -> None:
    report = parse_manifest(
        manifest(auth={"type": "user_http", "authorization_type": "basic", "client_url": "x"})
    )
    [extra] = report.findings
    assert (extra.code, extra.location) == ("PS125", "auth.client_url")


def test_unknown_auth_type_names_the_choices() -> None:
    report = parse_manifest(manifest(auth={"type": "apikey"}))
    [finding] = report.findings
    assert finding.code == "PS120"
    assert "none, service_http, user_http, oauth" in finding.message


@pytest.mark.parametrize("kind", [[], {}, ["none"], 1, None])
def test_an_auth_type_that_is_not_a_string_is_a_finding(kind: object) -> None:
    report = parse_manifest(manifest(auth={"type": kind}))
    [finding] = report.findings
    assert (finding.code, finding.location) == ("PS120", "auth.type")


@pytest.mark.parametrize(
    ("body", "code", "quoted"),
    [
        (b"", "PS115", "an empty body"),
        (b"<!DOCTYPE html><html><title>502 Bad Gateway</title>", "PS115", "502 Bad Gateway"),
        (b'{"error": "Unauthorized"}', "PS115", "Unauthorized"),
        (b"{not json", "PS100", "{not json"),
        (b"[1, 2]", "PS100", "[1, 2]"),
    ],
)
def test_a_body_that_is_not_a_manifest_is_quoted(body: bytes, code: str, quoted: str) -> None:
    report = parse_manifest(body)
    [finding] = report.findings
    assert finding.code == code
    assert quoted in finding.message
    assert report.manifest is None


def test_relative_api_url_is_accepted() -> None:
    report = parse_manifest(manifest(api={"type": "openapi", "url": "/openapi.json"}))
    assert report.findings == ()


def test_data_logo_is_accepted_but_a_non_url_legal_page_is_not() -> None:
    report = parse_manifest(
        manifest(logo_url="data:image/png;base64,AAAA", legal_info_url="legal@example.com")
    )
    [finding] = report.findings
    assert (finding.code, finding.location) == ("PS112", "legal_info_url")
